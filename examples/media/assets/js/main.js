// The page's entry module, loaded with the import map the page carries. The build rewrites
// its relative imports to hashed names, three modules deep (checks.js, lib/label.js,
// lib/version.js); the bare name "badge" resolves through the import map.
import { badge } from "badge";
import { check, report, version } from "./checks.js";

const video = document.querySelector("video");
const image = document.querySelector("header img");
const probe = document.querySelector(".probe");

document.body.dataset.version = String(version);
report("module", "JavaScript modules ran, a bare import among them", badge() === "staticmw");

check("image", "the image decoded", async () => {
  await image.decode();
  return image.naturalWidth === 64 && image.naturalHeight === 48;
});

check("font", "the web font decoded", async () => {
  await document.fonts.load('10px "Probe"');
  // Every letter of the probe font is two em wide: 6 letters at 10px measure 120px.
  return document.fonts.check('10px "Probe"') && probe.getBoundingClientRect().width === 120;
});

check("video", "the video plays and seeks", async () => {
  video.muted = true;
  await video.play();
  await new Promise((resolve) => setTimeout(resolve, 300));
  video.pause();
  const played = video.currentTime > 0;
  await new Promise((resolve) => {
    video.addEventListener("seeked", resolve, { once: true });
    video.currentTime = 10;
  });
  return played && Math.abs(video.currentTime - 10) < 0.5 && colourAt(video) === "blue";
});

function colourAt(source) {
  const canvas = document.createElement("canvas");
  canvas.width = 32;
  canvas.height = 18;
  const context = canvas.getContext("2d", { willReadFrequently: true });
  context.drawImage(source, 0, 0, canvas.width, canvas.height);
  const [r, , b] = context.getImageData(16, 9, 1, 1).data;
  return b > r ? "blue" : "red";
}
