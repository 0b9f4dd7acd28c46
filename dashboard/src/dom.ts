/** Tiny DOM helpers: the dashboard uses no framework, only these. */

type Child = Node | string | null | undefined | false;

/** Creates an element with attributes (class, data-*, id, ...) and children. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  for (const c of children) if (c !== null && c !== undefined && c !== false) node.append(c);
  return node;
}

/** A table with a header row and body rows (each row: cells, plus optional attributes for the <tr>). */
export function table(
  headers: string[],
  rows: { cells: Child[]; attrs?: Record<string, string> }[],
  attrs: Record<string, string> = {},
): HTMLTableElement {
  return el(
    "table",
    attrs,
    el("thead", {}, el("tr", {}, ...headers.map((h) => el("th", {}, h)))),
    el("tbody", {}, ...rows.map((r) => el("tr", r.attrs ?? {}, ...r.cells.map((c) => el("td", {}, c))))),
  );
}

/** Replaces a container's content. */
export function render(container: HTMLElement, ...children: Child[]): void {
  container.replaceChildren(...children.filter((c): c is Node | string => !!c));
}

/** The element with this id (throws: the page's skeleton is fixed, a missing id is a bug). */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const node = document.getElementById(id);
  if (!node) throw new Error(`#${id} is missing from index.html`);
  return node as T;
}
