// The members a body may spell that name an object's prototype: a key "__proto__", and a
// key "constructor" whose value is an object with its own "prototype". They are what
// prototype poisoning is made of, and nothing the hook reads or writes needs them: no field
// of a VaultApp, Deployment, StatefulSet, Service or ServiceMonitor has those names, the API
// server refuses "__proto__" as a label, annotation or resource key, and none of those maps
// holds an object value (the second shape). The one place "__proto__" was valid is a key of
// the managed Secret's data, which the hook no longer writes (src/api/string-rules.ts). So the hook's parsers leave them out of what they
// give the routes, instead of refusing the body: a body refused for them was a VaultApp no
// sync and no finalize could ever reach again. JSON bodies get this from
// Fastify's own parser in its 'remove' mode (secure-json-parse, ./json-body.ts); YAML bodies,
// whose parser keeps them as own properties, from dropPrototypeMembers below, which removes
// exactly what that mode removes.

const own = (obj: object, key: string): boolean => Object.hasOwn(obj, key);

/** Removes, in place and at every depth, the members secure-json-parse's 'remove' mode removes. Iterative: a body may nest deeply. */
export function dropPrototypeMembers(value: unknown): void {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const node = stack.pop();
    if (node === null || typeof node !== 'object') continue;
    const obj = node as Record<string, unknown>;
    if (own(obj, '__proto__')) Reflect.deleteProperty(obj, '__proto__');
    const ctor: unknown = Object.getOwnPropertyDescriptor(obj, 'constructor')?.value;
    if (ctor !== null && typeof ctor === 'object' && own(ctor, 'prototype')) Reflect.deleteProperty(obj, 'constructor');
    for (const child of Object.values(obj)) if (child !== null && typeof child === 'object') stack.push(child);
  }
}
