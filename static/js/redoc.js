// Starts Redoc on the API documentation page. A file of its own: the CSP refuses inline scripts,
// and Redoc's own <redoc> element is not valid HTML, so the page names the schema on a <div>.
"use strict";
const holder = document.getElementById("redoc");
window.Redoc.init(holder.dataset.specUrl, {}, holder);
