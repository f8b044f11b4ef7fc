/** What `f` throws, or null when it returns: for asserting typed errors by their fields. */
export function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  return null;
}
