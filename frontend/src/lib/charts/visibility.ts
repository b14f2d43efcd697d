//! One shared IntersectionObserver telling charts whether they are on screen, so
//! off-screen charts skip drawing (and are not even created until first seen).

type Callback = (visible: boolean) => void;

const callbacks = new Map<Element, Callback>();
let observer: IntersectionObserver | null = null;

function get(): IntersectionObserver {
  if (!observer) {
    observer = new IntersectionObserver(
      (entries) => {
        for (const e of entries) callbacks.get(e.target)?.(e.isIntersecting);
      },
      { rootMargin: '200px 0px' },
    );
  }
  return observer;
}

/** Calls `cb` whenever `el` enters or leaves the viewport (with a margin). */
export function observeVisibility(el: Element, cb: Callback): () => void {
  callbacks.set(el, cb);
  get().observe(el);
  return () => {
    callbacks.delete(el);
    observer?.unobserve(el);
  };
}
