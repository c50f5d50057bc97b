/// <reference lib="dom" />
/**
 * Building the page's DOM without HTML strings (every value is text), and updating it in place: a
 * newly built tree is merged into the shown one ({@link morph}), so that the elements stay — with
 * their focus, scroll position and selection — and only what changed is touched.
 */

/** What an element is given as a child: nodes and text; nothing for null, undefined and false. */
export type Child = Node | string | number | null | undefined | false | readonly Child[];

/** Attributes: a value is set as text; `true` sets the attribute empty; false, null and undefined leave it out. */
export type Attributes = Readonly<Record<string, string | number | boolean | null | undefined>>;

function setAttributes(el: Element, attrs: Attributes | undefined): void {
  if (!attrs) return;
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    el.setAttribute(name, value === true ? "" : String(value));
  }
}

function append(parent: Node, children: readonly Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, child);
    else if (child instanceof Node) parent.appendChild(child);
    else parent.appendChild(document.createTextNode(String(child)));
  }
}

/** An HTML element with its attributes and children. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs?: Attributes, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  setAttributes(el, attrs);
  append(el, children);
  return el;
}

const SVG_NS = "http://www.w3.org/2000/svg";

/** An SVG element with its attributes and children. */
export function s<K extends keyof SVGElementTagNameMap>(tag: K, attrs?: Attributes, ...children: Child[]): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG_NS, tag);
  setAttributes(el, attrs);
  append(el, children);
  return el;
}

/** The key an element is matched by among its siblings, when it has one. */
const KEY = "data-key";

function keyOf(node: Node): string | null {
  return node instanceof Element ? node.getAttribute(KEY) : null;
}

function sameKind(a: Node, b: Node): boolean {
  if (a.nodeType !== b.nodeType) return false;
  if (a instanceof Element && b instanceof Element) return a.namespaceURI === b.namespaceURI && a.tagName === b.tagName;
  return true;
}

/**
 * Makes `target` look like `next` (same tag), keeping `target`'s nodes where they match: children
 * with a `data-key` by key, the others by position and tag. `next` is consumed.
 */
export function morph(target: Element, next: Element): void {
  for (const { name } of Array.from(target.attributes)) if (!next.hasAttribute(name)) target.removeAttribute(name);
  for (const { name, value } of Array.from(next.attributes)) if (target.getAttribute(name) !== value) target.setAttribute(name, value);
  morphChildren(target, next);
}

function morphChildren(target: Element, next: Element): void {
  const keyed = new Map<string, Element>();
  for (const child of Array.from(target.children)) {
    const key = child.getAttribute(KEY);
    if (key !== null) keyed.set(key, child);
  }
  let cursor: ChildNode | null = target.firstChild;
  for (const wanted of Array.from(next.childNodes)) {
    const key = keyOf(wanted);
    let match: ChildNode | null = null;
    if (key !== null) {
      const old = keyed.get(key);
      if (old && sameKind(old, wanted)) match = old;
      keyed.delete(key);
    } else if (cursor && keyOf(cursor) === null && sameKind(cursor, wanted)) {
      match = cursor;
    }
    if (match === null) {
      target.insertBefore(wanted, cursor);
      continue;
    }
    if (match === cursor) cursor = cursor.nextSibling;
    else target.insertBefore(match, cursor);
    if (match instanceof Element) morph(match, wanted as Element);
    else if (match.nodeValue !== wanted.nodeValue) match.nodeValue = wanted.nodeValue;
  }
  while (cursor) {
    const after: ChildNode | null = cursor.nextSibling;
    cursor.remove();
    cursor = after;
  }
}
