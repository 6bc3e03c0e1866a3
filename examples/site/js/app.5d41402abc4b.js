// A content-hashed module: served with Cache-Control: public, max-age=31536000, immutable.
const clock = document.getElementById("clock");

async function tick() {
  const response = await fetch("/api/time");
  const { time } = await response.json();
  clock.textContent = `The app says it is ${new Date(time * 1000).toISOString()}`;
}

tick();
setInterval(tick, 5000);
