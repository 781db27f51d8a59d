// Parsing a YAML body with bounds, so that no body stalls the hook. The `yaml`
// library is correct but not built for hostile input: its duplicate-key check
// compares every key with every other (a flow map of 20,000 keys, 184 KiB, held the
// event loop for 21–31 s), composing costs some 5 µs per node (a 1.3 MiB flat list
// took 16 s and 750 MB), and its alias limit counts aliases, not what they expand to
// (100 aliases of a large anchor made a 20 MB answer). So, before and around it:
//  - the size is bounded by the route's own body limit for YAML (./yaml.ts);
//  - nodes are counted on the lexer's tokens, stopping at the limit, before anything
//    is composed;
//  - duplicate keys are found with one Set per map (uniqueKeys off in the library);
//  - aliases are counted, and what they expand to is added up against the size limit.
import { Lexer, CST, isAlias, isScalar, parseDocument, visit, type Alias, type Document, type Node } from 'yaml';

/** Nodes (scalars, collections, aliases and the indicators between them) a YAML body may hold. A sync request has a few thousand. */
export const YAML_MAX_NODES = 20_000;
/** Aliases a YAML body may hold; kubectl never writes one, people seldom more than a few. */
export const YAML_MAX_ALIASES = 100;

export type YamlOutcome =
  | { ok: true; value: unknown }
  /** tooLarge: a size bound (nodes, expansion) was hit, as opposed to a malformed document. */
  | { ok: false; tooLarge: boolean; problem: string };

const NODE_TOKENS = new Set<string>([
  'scalar',
  'single-quoted-scalar',
  'double-quoted-scalar',
  'block-scalar-header',
  'alias',
  'anchor',
  'tag',
  'flow-map-start',
  'flow-seq-start',
  'seq-item-ind',
  'map-value-ind',
  'explicit-key-ind',
  'comma',
]);

/** Whether the text holds more than `max` node tokens; lexes no further than that. */
export function moreNodesThan(text: string, max: number): boolean {
  let count = 0;
  for (const token of new Lexer().lex(text)) {
    const type = CST.tokenType(token);
    if (type !== null && NODE_TOKENS.has(type) && ++count > max) return true;
  }
  return false;
}

const sourceLength = (node: Node): number => (node.range ? node.range[2] - node.range[0] : 0);

/** Keys must be unique per map, as JSON keys end up: `1` and `"1"` are the same key there. */
function duplicateKey(doc: Document): string | undefined {
  let found: string | undefined;
  visit(doc, {
    Map(_, map) {
      const keys = new Set<string>();
      for (const pair of map.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : pair.key === null ? '' : undefined;
        if (key === undefined) {
          found = 'a mapping key that is a list or a map';
          return visit.BREAK;
        }
        if (keys.has(key)) {
          found = `the key "${key.slice(0, 64)}" twice in one mapping`;
          return visit.BREAK;
        }
        keys.add(key);
      }
      return undefined;
    },
  });
  return found;
}

/**
 * Bytes the document would take with its aliases written out, or a problem. Each alias
 * target's size is computed once (its own source plus what the aliases inside it
 * expand to); an alias inside the node it names is refused.
 */
function expandedSize(doc: Document, sourceBytes: number, max: number): number | string {
  const anchors = new Map<string, Node>();
  const targets = new Map<Alias, Node | undefined>();
  let problem: string | undefined;
  // Document order: an alias names the last node anchored under its name before it.
  visit(doc, {
    Node(_, node) {
      if (isAlias(node)) {
        if (targets.size >= YAML_MAX_ALIASES) {
          problem = `more than ${YAML_MAX_ALIASES} aliases`;
          return visit.BREAK;
        }
        targets.set(node, anchors.get(node.source));
      } else if (node.anchor) anchors.set(node.anchor, node);
      return undefined;
    },
  });
  if (problem) return problem;

  const sizes = new Map<Node, number>();
  const inProgress = new Set<Node>();
  const sizeOf = (node: Node): number | string => {
    const known = sizes.get(node);
    if (known !== undefined) return known;
    if (inProgress.has(node)) return 'an alias inside the node it refers to';
    inProgress.add(node);
    let size = sourceLength(node);
    let inner: string | undefined;
    visit(node, {
      Alias(_, alias) {
        const target = targets.get(alias);
        const s = target ? sizeOf(target) : 0;
        if (typeof s === 'string') inner = s;
        else size += s;
        return inner !== undefined || size > max ? visit.BREAK : undefined;
      },
    });
    inProgress.delete(node);
    if (inner !== undefined) return inner;
    sizes.set(node, size);
    return size;
  };

  let total = sourceBytes;
  for (const target of targets.values()) {
    if (!target) continue;
    const s = sizeOf(target);
    if (typeof s === 'string') return s;
    total += s;
    if (total > max) break;
  }
  return total;
}

/** Parses one YAML document within `maxBytes` (expanded) and YAML_MAX_NODES. */
export function parseBoundedYaml(text: string, maxBytes: number): YamlOutcome {
  if (moreNodesThan(text, YAML_MAX_NODES)) {
    return { ok: false, tooLarge: true, problem: `it has more than ${YAML_MAX_NODES} nodes; send JSON, as Metacontroller does` };
  }
  // uniqueKeys off: the library's own check is quadratic; duplicateKey() does it in linear time.
  const doc = parseDocument(text, { uniqueKeys: false, prettyErrors: false });
  const error = doc.errors[0];
  if (error) return { ok: false, tooLarge: false, problem: error.message.split('\n')[0] ?? 'not YAML' };
  const duplicate = duplicateKey(doc);
  if (duplicate) return { ok: false, tooLarge: false, problem: `it has ${duplicate}` };
  const expanded = expandedSize(doc, Buffer.byteLength(text), maxBytes);
  if (typeof expanded === 'string') return { ok: false, tooLarge: false, problem: `it has ${expanded}` };
  if (expanded > maxBytes) {
    return { ok: false, tooLarge: true, problem: `its aliases expand it to more than ${maxBytes} bytes, the limit for YAML bodies` };
  }
  try {
    // The library's alias limit stays on as a second guard.
    return { ok: true, value: doc.toJS({ maxAliasCount: YAML_MAX_ALIASES }) };
  } catch (err) {
    return { ok: false, tooLarge: false, problem: (err as Error).message.split('\n')[0] ?? 'not YAML' };
  }
}
