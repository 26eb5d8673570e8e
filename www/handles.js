// Rust objects the page frees when it replaces them (a Langevin run, a loaded series).

// wasm-bindgen refuses to free a Rust value while an unfinished async call (a GPU read, a
// reverse step) still borrows it, and a link change or an upload can land mid-call: `retire`
// frees the value once the calls made so far have settled.
export function tracked(handle) {
  const pending = new Set();
  return new Proxy(handle, {
    get(target, key) {
      if (key === 'retire') {
        return async () => { await Promise.allSettled([...pending]); target.free(); };
      }
      const value = Reflect.get(target, key, target);
      if (typeof value !== 'function') return value;
      return (...args) => {
        const result = value.apply(target, args);
        if (result instanceof Promise) {
          pending.add(result);
          result.finally(() => pending.delete(result)).catch(() => {});
        }
        return result;
      };
    },
  });
}
