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

document$.subscribe(() => {
  MathJax.startup.output.clearCache()
  MathJax.typesetClear()
  MathJax.texReset()
  MathJax.typesetPromise()
})
