// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * One in-process broker's link to etcd, which a test can cut or half-heal (docs/CLUSTER.md,
 * "Unfencing after catching up").
 *
 * @module
 */

/** How a broker's calls to etcd fare. */
export type Link = "open" | "cut" | "watch-held";

/**
 * Route every `fetch` to `alias` (one broker's etcd endpoint) to `real`, as `set()` says: `cut`
 * fails new calls and aborts those in flight (its watch stream too); `watch-held` lets calls
 * through but holds every new watch until the link opens (or the call is aborted), so the
 * broker can register again while its view does not catch up.
 *
 * @param alias The endpoint the broker is given.
 * @param real The etcd endpoint it stands for.
 * @returns `set` the link's state; `restore` the global `fetch`.
 */
export function aliasEtcd(alias: string, real: string): {
  set(next: Link): void;
  restore(): void;
} {
  const original = globalThis.fetch;
  let link: Link = "open";
  let cutAll = new AbortController();
  let opened: { promise: Promise<void>; resolve: () => void } = Promise.withResolvers<void>();
  globalThis.fetch = async (input: string | URL | Request, init?: RequestInit) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    if (!url.startsWith(alias)) return original(input, init);
    const target = real + url.slice(alias.length);
    if (link === "cut") throw new TypeError(`etcd link of ${alias} cut: ${url}`);
    if (link === "watch-held" && url.endsWith("/v3/watch")) {
      const signal = init?.signal;
      await new Promise<void>((resolve, reject) => {
        opened.promise.then(resolve);
        signal?.addEventListener("abort", () => reject(signal.reason), { once: true });
      });
    }
    const signals = [cutAll.signal, ...(init?.signal ? [init.signal] : [])];
    return original(target, { ...init, signal: AbortSignal.any(signals) });
  };
  return {
    set(next: Link) {
      link = next;
      if (next === "cut") {
        cutAll.abort(new TypeError(`etcd link of ${alias} cut`));
        cutAll = new AbortController();
      }
      if (next === "open") {
        opened.resolve();
        opened = Promise.withResolvers<void>();
      }
    },
    restore() {
      opened.resolve();
      globalThis.fetch = original;
    },
  };
}
