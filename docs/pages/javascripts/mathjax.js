// MathJax for pymdownx.arithmatex (generic mode), as the Material for MkDocs docs recommend.
// MathJax itself is bundled (javascripts/mathjax/), so nothing is fetched from the network.
window.MathJax = {
  tex: {
    inlineMath: [["\\(", "\\)"]],
    displayMath: [["\\[", "\\]"]],
    processEscapes: true,
    processEnvironments: true
  },
  options: {
    ignoreHtmlClass: ".*|",
    processHtmlClass: "arithmatex",
    // the menu's accessibility items load components that are not bundled
    enableMenu: false
  }
};

// MathJax's start-up typesets the page it is loaded on. Material's document$ fires for that page
// too, and again for each page of instant navigation: only those later pages (still raw TeX)
// need the reset and a new typeset. Resetting the first page as well clears the CSS of the
// characters already typeset and leaves every formula blank (with the CDN copy, MathJax was
// not loaded yet when document$ first fired, which hid this).
let firstPage = true
document$.subscribe(() => {
  if (firstPage) {
    firstPage = false
    return
  }
  MathJax.startup.output.clearCache()
  MathJax.typesetClear()
  MathJax.texReset()
  MathJax.typesetPromise()
})
