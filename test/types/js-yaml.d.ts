// The part of js-yaml's API the deployment tests use (the package ships no types).
declare module 'js-yaml' {
  export function load(text: string): unknown;
  export function loadAll(text: string): unknown[];
  export function dump(value: unknown, options?: { lineWidth?: number; noRefs?: boolean }): string;
}
