// The mvmocap replay player: reads #replay-data, skins every person on the CPU each frame, draws
// them with three.js (loaded from the page itself), with keypoints, camera frusta and the floor.
// The address can seek (#frame=K, paused there) and fix the drawing size (#size=WxH).
// State for tests and tools: #status data-state ("ready" once a frame is drawn), data-frame,
// data-errors (every error and console.error of the page), data-view (the camera's
// view-projection matrix, column-major, as three.js keeps it).

const status = document.getElementById('status');
const errors = [];
const noteError = (text) => { errors.push(String(text)); status.dataset.errors = JSON.stringify(errors); };
window.addEventListener('error', (e) => noteError(e.message));
window.addEventListener('unhandledrejection', (e) => noteError(e.reason));
const consoleError = console.error.bind(console);
console.error = (...args) => { noteError(args.join(' ')); consoleError(...args); };

function decode(text, Type) {
  const bytes = Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  return new Type(bytes.buffer);
}

const source = document.getElementById('three-source').textContent;
const THREE = await import(URL.createObjectURL(new Blob([source], { type: 'text/javascript' })));
const data = JSON.parse(document.getElementById('replay-data').textContent);
const F = data.frames.length;

const renderer = new THREE.WebGLRenderer({ antialias: true, preserveDrawingBuffer: true });
renderer.setPixelRatio(1);
document.getElementById('view').appendChild(renderer.domElement);
const scene = new THREE.Scene();
scene.background = new THREE.Color(0x20242b);
scene.add(new THREE.HemisphereLight(0xffffff, 0x404050, 2.2));
const sun = new THREE.DirectionalLight(0xffffff, 1.6);
sun.position.set(2, -3, 5);
scene.add(sun);

const camera = new THREE.PerspectiveCamera(data.view.fov, 1, 0.05, 200);
camera.up.set(0, 0, 1);
const orbit = { target: new THREE.Vector3(...data.view.target), distance: data.view.distance,
                azimuth: data.view.azimuth, elevation: data.view.elevation };
function placeCamera() {
  const ce = Math.cos(orbit.elevation);
  camera.position.set(orbit.target.x + orbit.distance * ce * Math.cos(orbit.azimuth),
                      orbit.target.y + orbit.distance * ce * Math.sin(orbit.azimuth),
                      orbit.target.z + orbit.distance * Math.sin(orbit.elevation));
  camera.lookAt(orbit.target);
}

// Floor: a 1 m grid on z = 0 around the subject's path.
const grid = new THREE.GridHelper(20, 20, 0x5a6270, 0x3a414c);
grid.rotation.x = Math.PI / 2;
grid.position.set(Math.round(orbit.target.x), Math.round(orbit.target.y), 0);
scene.add(grid);

// Cameras: frusta and names.
const labels = [];
for (const cam of data.cameras) {
  const c = cam.centre, k = cam.corners;
  const points = [];
  for (let i = 0; i < 4; i++) points.push(...c, ...k[i], ...k[i], ...k[(i + 1) % 4]);
  const geometry = new THREE.BufferGeometry();
  geometry.setAttribute('position', new THREE.Float32BufferAttribute(points, 3));
  scene.add(new THREE.LineSegments(geometry, new THREE.LineBasicMaterial({ color: 0x5fc8dc })));
  const label = document.createElement('div');
  label.className = 'label';
  label.textContent = cam.name;
  document.getElementById('labels').appendChild(label);
  labels.push({ element: label, position: new THREE.Vector3(...c) });
}

// People: CPU skinning of the rest mesh by each frame's joint rotations and positions.
const people = data.people.map((p) => {
  const rest = decode(p.rest_vertices, Float32Array);
  const geometry = new THREE.BufferGeometry();
  const position = new THREE.BufferAttribute(new Float32Array(rest.length), 3);
  geometry.setAttribute('position', position);
  geometry.setIndex(new THREE.BufferAttribute(decode(p.faces, Uint32Array), 1));
  const mesh = new THREE.Mesh(geometry, new THREE.MeshStandardMaterial({
    color: new THREE.Color(p.colour), roughness: 0.7, metalness: 0.0, side: THREE.DoubleSide }));
  scene.add(mesh);
  return { ...p, rest, position, geometry, mesh, frameIndex: decode(p.frame_index, Int32Array),
           restJoints: decode(p.rest_joints, Float32Array),
           index: decode(p.skin_index, Uint16Array), weight: decode(p.skin_weight, Float32Array),
           rotations: decode(p.rotations, Float32Array), positions: decode(p.positions, Float32Array),
           matrices: new Float32Array(12 * p.joints) };
});

// A person not there in the page's frame f (frameIndex -1) is hidden; else skinned at its own frame.
function skin(person, pageFrame) {
  const f = person.frameIndex[pageFrame];
  person.mesh.visible = f >= 0;
  if (f < 0) return;
  const J = person.joints, M = person.matrices, q = person.rotations, p = person.positions, r = person.restJoints;
  for (let j = 0; j < J; j++) {  // M_j = [R | p - R rest]
    const o = 4 * (f * J + j), x = q[o], y = q[o + 1], z = q[o + 2], w = q[o + 3];
    const R = [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w),
               2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w),
               2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)];
    const t = 3 * (f * J + j), rx = r[3 * j], ry = r[3 * j + 1], rz = r[3 * j + 2];
    for (let row = 0; row < 3; row++) {
      M[12 * j + 4 * row] = R[3 * row]; M[12 * j + 4 * row + 1] = R[3 * row + 1]; M[12 * j + 4 * row + 2] = R[3 * row + 2];
      M[12 * j + 4 * row + 3] = p[t + row] - (R[3 * row] * rx + R[3 * row + 1] * ry + R[3 * row + 2] * rz);
    }
  }
  const V = person.vertices, K = person.influences, rest = person.rest, out = person.position.array;
  for (let v = 0; v < V; v++) {
    const x = rest[3 * v], y = rest[3 * v + 1], z = rest[3 * v + 2];
    let ox = 0, oy = 0, oz = 0;
    for (let k = 0; k < K; k++) {
      const w = person.weight[v * K + k];
      if (w === 0) continue;
      const m = 12 * person.index[v * K + k];
      ox += w * (M[m] * x + M[m + 1] * y + M[m + 2] * z + M[m + 3]);
      oy += w * (M[m + 4] * x + M[m + 5] * y + M[m + 6] * z + M[m + 7]);
      oz += w * (M[m + 8] * x + M[m + 9] * y + M[m + 10] * z + M[m + 11]);
    }
    out[3 * v] = ox; out[3 * v + 1] = oy; out[3 * v + 2] = oz;
  }
  person.position.needsUpdate = true;
  person.geometry.computeVertexNormals();
  person.geometry.computeBoundingSphere();
}

// Keypoints: points and limbs of the joints seen in the frame (confidence > 0), packed at the front
// of their buffers and drawn up to their count.
const kp = data.keypoints, kpData = decode(kp.data, Float32Array), K = kp.count;
const kpGeometry = new THREE.BufferGeometry();
kpGeometry.setAttribute('position', new THREE.BufferAttribute(new Float32Array(3 * K), 3));
const limbGeometry = new THREE.BufferGeometry();
limbGeometry.setAttribute('position', new THREE.BufferAttribute(new Float32Array(6 * kp.limbs.length), 3));
const kpPoints = new THREE.Points(kpGeometry, new THREE.PointsMaterial({ color: 0x7ce08a, size: 6, sizeAttenuation: false }));
const kpLimbs = new THREE.LineSegments(limbGeometry, new THREE.LineBasicMaterial({ color: 0x7ce08a }));
kpPoints.frustumCulled = kpLimbs.frustumCulled = false;  // their buffers change every frame
scene.add(kpPoints, kpLimbs);
function showKeypoints(f) {
  const pts = kpGeometry.attributes.position.array, limbs = limbGeometry.attributes.position.array;
  const seen = (j) => kpData[4 * (f * K + j) + 3] > 0;
  const at = (j) => kpData.subarray(4 * (f * K + j), 4 * (f * K + j) + 3);
  let points = 0, segments = 0;
  for (let j = 0; j < K; j++) if (seen(j)) pts.set(at(j), 3 * points++);
  for (const [a, b] of kp.limbs) {
    if (!seen(a) || !seen(b)) continue;
    limbs.set(at(a), 6 * segments); limbs.set(at(b), 6 * segments + 3); segments++;
  }
  kpGeometry.setDrawRange(0, points);
  limbGeometry.setDrawRange(0, 2 * segments);
  kpGeometry.attributes.position.needsUpdate = true;
  limbGeometry.attributes.position.needsUpdate = true;
}

// Player.
const slider = document.getElementById('slider'), frameText = document.getElementById('frame');
const playButton = document.getElementById('play');
slider.max = String(F - 1);
let current = 0, playing = true, last = performance.now(), clock = 0;
function show(f) {
  current = Math.max(0, Math.min(F - 1, f));
  for (const person of people) skin(person, current);
  showKeypoints(current);
  slider.value = String(current);
  frameText.textContent = `frame ${data.frames[current]}  (${current + 1} / ${F})`;
}
function setPlaying(on) { playing = on; playButton.textContent = on ? 'pause' : 'play'; }
playButton.onclick = () => setPlaying(!playing);
slider.oninput = () => { setPlaying(false); show(Number(slider.value)); };
window.addEventListener('keydown', (e) => {
  if (e.key === 'ArrowRight') { setPlaying(false); show(current + 1); }
  else if (e.key === 'ArrowLeft') { setPlaying(false); show(current - 1); }
  else if (e.key === ' ') { setPlaying(!playing); e.preventDefault(); }
});
let drag = null;
renderer.domElement.addEventListener('pointerdown', (e) => { drag = { x: e.clientX, y: e.clientY, pan: e.shiftKey }; });
window.addEventListener('pointerup', () => { drag = null; });
window.addEventListener('pointermove', (e) => {
  if (!drag) return;
  const dx = e.clientX - drag.x, dy = e.clientY - drag.y;
  drag.x = e.clientX; drag.y = e.clientY;
  if (drag.pan) {
    const right = new THREE.Vector3().setFromMatrixColumn(camera.matrixWorld, 0);
    const up = new THREE.Vector3().setFromMatrixColumn(camera.matrixWorld, 1);
    orbit.target.addScaledVector(right, -dx * orbit.distance / 800).addScaledVector(up, dy * orbit.distance / 800);
  } else {
    orbit.azimuth -= dx * 0.008;
    orbit.elevation = Math.max(-1.4, Math.min(1.4, orbit.elevation + dy * 0.008));
  }
});
renderer.domElement.addEventListener('wheel', (e) => {
  orbit.distance = Math.max(0.5, Math.min(100, orbit.distance * Math.exp(e.deltaY * 0.001)));
  e.preventDefault();
}, { passive: false });

// The address may fix the drawing size (#size=WxH, for screenshots that must match); else the window's.
const fixedSize = /size=(\d+)x(\d+)/.exec(window.location.hash);
const canvasSize = () => (fixedSize ? [Number(fixedSize[1]), Number(fixedSize[2])]
                                    : [window.innerWidth, window.innerHeight]);
function resize() {
  const [width, height] = canvasSize();
  renderer.setSize(width, height);
  camera.aspect = width / Math.max(1, height);
  camera.updateProjectionMatrix();
}
window.addEventListener('resize', resize);

const seek = /frame=(\d+)/.exec(window.location.hash);
if (seek) setPlaying(false);
show(seek ? Number(seek[1]) : 0);
resize();

function draw(now) {
  if (playing && F > 1) {
    clock += (now - last) / 1000;
    const step = Math.floor(clock * data.fps);
    if (step > 0) { clock -= step / data.fps; show((current + step) % F); }
  }
  last = now;
  placeCamera();
  camera.updateMatrixWorld();
  renderer.render(scene, camera);
  const v = new THREE.Vector3(), [width, height] = canvasSize();
  for (const l of labels) {
    v.copy(l.position).project(camera);
    l.element.style.display = v.z < 1 ? '' : 'none';
    l.element.style.left = `${(v.x + 1) / 2 * width}px`;
    l.element.style.top = `${(1 - v.y) / 2 * height}px`;
  }
  const viewProjection = new THREE.Matrix4().multiplyMatrices(camera.projectionMatrix, camera.matrixWorldInverse);
  status.dataset.view = JSON.stringify(viewProjection.elements);
  status.dataset.size = JSON.stringify([width, height]);
  status.dataset.frame = String(current);
  status.dataset.state = 'ready';
  requestAnimationFrame(draw);
}
requestAnimationFrame(draw);
