// The header's menus (each a <details data-menu>) close with Escape, focus going back to the
// control that opened them, and with a click or tap outside them. Without this file they still
// open and close from their own control.
"use strict";

// The open menus a person sees as menus, outermost first. From 80rem on the layout shows the main
// menu open with its control hidden: that one is the header's navigation, nothing to close.
function openMenus() {
  return [...document.querySelectorAll("details[data-menu][open]")].filter(
    (menu) => menu.querySelector(":scope > summary")?.getClientRects().length > 0,
  );
}

document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape" || event.defaultPrevented) return;
  // The innermost first: Escape in the account menu closes it and leaves the main menu open.
  const menu = openMenus().pop();
  if (!menu) return;
  menu.open = false;
  menu.querySelector(":scope > summary").focus();
});

document.addEventListener("click", (event) => {
  for (const menu of openMenus()) {
    if (!menu.contains(event.target)) menu.open = false;
  }
});
