// Ties a GraphQL object type to the view it carries (src/shapes/views.ts), so the two cannot drift apart:
//
//   @ObjectType('ProcessRequest')
//   export class ProcessRequestType implements Shape<ProcessRequestView, ProcessRequestType> { … }
//
// fails to compile when the class lacks a key of the view ("Property 'x' is missing in type …"), when a
// property's type does not fit the view's, and when the class declares a key the view does not have
// ("Property 'x is not in the view' is missing …"). Fields computed by field resolvers (creator, history)
// are not class properties, so they are outside this check.

/** Keys of the class the view does not have. */
type Extra<V, C> = Exclude<keyof C, keyof V>;

/** What a class must implement to carry the view V: V itself, plus one impossible key per extra key of C. */
export type Shape<V, C = V> = [Extra<V, C>] extends [never]
  ? V
  : V & { [K in Extra<V, C> & string as `${K} is not in the view`]: never };

/** The keys one of A and B has and the other lacks. */
type Difference<A, B> = Exclude<keyof A, keyof B> | Exclude<keyof B, keyof A>;

/**
 * `true` when A and B have the same keys, else the keys that differ: for input types, whose optional
 * fields `implements` cannot compare. `const CHECKED: SameKeys<CreateProcessRequestInput, CreateFields> = true`
 * fails to compile ("Type 'true' is not assignable to type '"x"'") when a field is on one side only.
 */
export type SameKeys<A, B> = [Difference<A, B>] extends [never] ? true : Difference<A, B>;
