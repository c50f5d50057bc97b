/**
 * The console's page: a static shell the page's script (`/assets/app.js`) fills from the state. No
 * inline script or style (the page is served with a Content-Security-Policy that allows neither).
 */

/** The whole HTML document of the console's page. */
export function indexHtml(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="referrer" content="no-referrer">
<title>eventbus console</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/assets/style.css">
<script type="module" src="/assets/app.js"></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
<p class="brand"><span class="name">eventbus console</span> <span id="version" class="version"></span></p>
<p class="read-only">read-only</p>
<p id="connection" data-state="disconnected" role="status" aria-live="polite">connecting…</p>
</header>
<div class="layout">
<nav id="buses" aria-labelledby="buses-title">
<h2 id="buses-title">Buses</h2>
</nav>
<main id="main" tabindex="-1">
<p id="loading" class="note">Reading the state…</p>
</main>
</div>
<noscript><p class="alert">The console needs JavaScript: it reads its state from <a href="/api/state">/api/state</a>.</p></noscript>
</body>
</html>
`;
}
