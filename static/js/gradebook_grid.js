// Keyboard navigation of the gradebook grid: one grade cell at a time is in the tab order
// (a roving tabindex); arrow keys move between grade cells, Home and End go to the row's first
// and last grade (with Ctrl: the grid's), Enter opens the cell's grade entry. The table works
// without it: every header links to its page and the region itself scrolls with the keyboard.
const grid = document.querySelector("[data-grid]");
if (grid && grid.tBodies.length) {
  const rows = () => Array.from(grid.tBodies[0].rows).filter((row) => row.querySelector("td[tabindex]"));
  const cells = (row) => Array.from(row.querySelectorAll("td[tabindex]"));
  const first = grid.querySelector("td[tabindex]");
  if (first) first.tabIndex = 0;

  const moveTo = (from, to) => {
    if (!to || to === from) return false;
    from.tabIndex = -1;
    to.tabIndex = 0;
    to.focus({ preventScroll: true });
    to.scrollIntoView({ block: "nearest", inline: "nearest" });
    return true;
  };

  grid.addEventListener("keydown", (event) => {
    const cell = event.target.closest("td[tabindex]");
    if (!cell) return;
    if (event.key === "Enter" && cell.dataset.href) {
      window.location.assign(cell.dataset.href);
      return;
    }
    const all = rows();
    const r = all.indexOf(cell.parentElement);
    const c = cells(cell.parentElement).indexOf(cell);
    const at = (row, col) => {
      const line = all[row] && cells(all[row]);
      return line ? line[Math.min(col, line.length - 1)] : undefined;
    };
    let target;
    switch (event.key) {
      case "ArrowUp": target = at(r - 1, c); break;
      case "ArrowDown": target = at(r + 1, c); break;
      case "ArrowLeft": target = cells(cell.parentElement)[c - 1]; break;
      case "ArrowRight": target = cells(cell.parentElement)[c + 1]; break;
      case "Home": target = event.ctrlKey ? at(0, 0) : cells(cell.parentElement)[0]; break;
      case "End": {
        const line = event.ctrlKey ? cells(all[all.length - 1]) : cells(cell.parentElement);
        target = line[line.length - 1];
        break;
      }
      default: return;
    }
    if (moveTo(cell, target)) event.preventDefault();
  });

  // A click on a cell makes it the one the keyboard continues from.
  grid.addEventListener("focusin", (event) => {
    const cell = event.target.closest("td[tabindex]");
    if (!cell) return;
    grid.querySelectorAll('td[tabindex="0"]').forEach((other) => { if (other !== cell) other.tabIndex = -1; });
    cell.tabIndex = 0;
  });
}
