import { isScalar, visit, type Document, type Scalar } from "yaml";

/**
 * The first repeated key of any mapping in a parsed document, in document order, or undefined.
 * Keys are the same when they are scalars of the same value (`a` and `a`, but not `1` and `"1"`),
 * as the `yaml` package's own `uniqueKeys` check compares them — which compares each key with every
 * key before it, so that a mapping of 40,000 keys took seconds. One `Set` per mapping is linear.
 */
export function firstDuplicateKey(doc: Document): Scalar | undefined {
  let found: Scalar | undefined;
  visit(doc, {
    Map(_, map) {
      const seen = new Set<unknown>();
      for (const { key } of map.items) {
        if (!isScalar(key)) continue;
        if (seen.has(key.value)) {
          // Mappings are visited outside-in; the first in the text is the one a reader looks for.
          if (found === undefined || offset(key) < offset(found)) found = key;
          break;
        }
        seen.add(key.value);
      }
    },
  });
  return found;
}

function offset(node: Scalar): number {
  return node.range?.[0] ?? Number.MAX_SAFE_INTEGER;
}
