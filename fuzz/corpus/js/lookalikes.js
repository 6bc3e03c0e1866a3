// import "./x.js"
const t = `${`import "./y.js"`}`;
const r = /import "z"/;
x = a / b / c;
if (q) { w(); } /re/.test(s);
