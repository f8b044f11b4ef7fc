// Extra createWasmBackend options a bundler's recipe may need (the test rewrites this file per build).
export default {};
