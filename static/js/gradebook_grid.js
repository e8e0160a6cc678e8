// Keyboard navigation of the gradebook grid: arrow keys move between cells, Enter opens the
// cell's grade entry. The table works without it (every header links to its page).
const grid = document.querySelector("[data-grid]");
if (grid) {
  const rows = () => Array.from(grid.tBodies[0].rows);
  const cells = (row) => Array.from(row.querySelectorAll("td[tabindex]"));
  const first = grid.querySelector("td[tabindex]");
  if (first) first.tabIndex = 0;
  grid.addEventListener("keydown", (event) => {
    const cell = event.target.closest("td[tabindex]");
    if (!cell) return;
    const row = cell.parentElement;
    const r = rows().indexOf(row);
    const c = cells(row).indexOf(cell);
    const moves = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
    if (event.key === "Enter" && cell.dataset.href) {
      window.location.assign(cell.dataset.href);
      return;
    }
    const move = moves[event.key];
    if (!move) return;
    const target = rows()[r + move[0]];
    const next = target && cells(target)[c + move[1]];
    if (next) {
      event.preventDefault();
      cell.tabIndex = -1;
      next.tabIndex = 0;
      next.focus();
    }
  });
}
