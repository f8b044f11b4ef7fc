/** Backend names: what `create-backend <name>` accepts, and the identifiers derived from a name. */

/** Names the conformance CLI already gives a meaning (`--backend cpu` is the built-in cpu backend). */
export const RESERVED_NAMES: readonly string[] = Object.freeze(['reference', 'cpu', 'wasm', 'webgpu', 'webgpu-f16']);

/** Lowercase letters, digits and single dashes between them, starting with a letter. */
const NAME = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
const MAX_LENGTH = 40;

export class NameError extends Error {
  override name = 'NameError';
}

/** The workspace package a backend named `name` becomes. */
export function packageNameOf(name: string): string {
  return `@dcnv2/backend-${name}`;
}

/** `my-gpu` -> `MyGpu`: the part of `MyGpuBackend` and `createMyGpuBackend` that comes from the name. */
export function pascalCase(name: string): string {
  return name
    .split('-')
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('');
}

/**
 * Checks a backend name (a `NameError` saying what is wrong): its form, that it is not a name the
 * conformance CLI reserves, and that no workspace package (`existingPackages`) has its package name.
 */
export function checkName(name: unknown, existingPackages: readonly string[] = []): asserts name is string {
  if (typeof name !== 'string' || name.length === 0) throw new NameError('a backend name is required, e.g. create-backend my-gpu');
  if (name.startsWith('backend-')) {
    throw new NameError(`give the name without the "backend-" prefix: create-backend ${name.slice('backend-'.length)} makes @dcnv2/${name}`);
  }
  if (!NAME.test(name)) {
    throw new NameError(
      `invalid backend name ${JSON.stringify(name)}: use lowercase letters, digits and dashes, starting with a letter, ` +
        'with no dash at the end and no two dashes in a row (e.g. my-gpu)',
    );
  }
  if (name.length > MAX_LENGTH) throw new NameError(`backend name ${JSON.stringify(name)} is longer than ${MAX_LENGTH} characters`);
  if (RESERVED_NAMES.includes(name)) {
    throw new NameError(`${JSON.stringify(name)} is a built-in backend name of the conformance CLI (${RESERVED_NAMES.join(', ')}); choose another`);
  }
  const pkg = packageNameOf(name);
  if (existingPackages.includes(pkg)) throw new NameError(`${pkg} already exists in this workspace; choose another name`);
}
