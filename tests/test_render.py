"""Rendering against analytic expectations: coverage, depth, occlusion, colours, distortion."""

import cv2
import imageio_ffmpeg
import numpy as np
import pytest
import torch

from mvmocap.bodymodels import SMPLFamilyModel
from mvmocap.camera import Camera
from mvmocap.render import (
    CheckerFloor,
    Scene,
    VideoWriter,
    checkerboard,
    composite,
    draw_keypoints3d,
    draw_skeleton,
    follow_cameras,
    tile_columns,
    tile_layout,
    tile_views,
)
from mvmocap.synthetic.model_files import make_model_arrays

K = np.array([[100.0, 0.0, 49.5], [0.0, 100.0, 49.5], [0.0, 0.0, 1.0]])
SQUARE_FACES = np.array([[0, 1, 2], [0, 2, 3]])


def _camera(dist=()):
    return Camera("c", K, dist, np.eye(3), np.zeros(3), (100, 100))


def _square(half, z, x=0.0, y=0.0):
    return np.array([[x - half, y - half, z], [x + half, y - half, z], [x + half, y + half, z],
                     [x - half, y + half, z]])


def test_square_coverage_depth_and_flat_colour():
    colour = (0.2, 0.4, 0.6)
    r = Scene().add(_square(0.5, 2.0), SQUARE_FACES, colour, lit=False).render(_camera())
    # Corners project to 49.5 +- 25: pixel centres 25..74 are inside.
    ys, xs = np.nonzero(r.mask)
    assert (ys.min(), ys.max(), xs.min(), xs.max()) == (25, 74, 25, 74)
    assert r.mask.sum() == 2500
    np.testing.assert_allclose(r.depth[r.mask], 2.0, atol=1e-9)
    assert np.isinf(r.depth[~r.mask]).all()
    np.testing.assert_allclose(r.rgb[r.mask], np.broadcast_to(colour, (2500, 3)), atol=1e-6)


def test_occlusion_follows_depth_not_drawing_order():
    near, far = _square(0.2, 1.0), _square(1.0, 3.0)
    red, green = (1.0, 0.0, 0.0), (0.0, 1.0, 0.0)
    for order in ((near, red, far, green), (far, green, near, red)):
        scene = Scene()
        scene.add(order[0], SQUARE_FACES, order[1], lit=False).add(order[2], SQUARE_FACES, order[3], lit=False)
        r = scene.render(_camera())
        assert tuple(r.rgb[50, 50]) == red and tuple(r.rgb[50, 20]) == green
        assert r.depth[50, 50] == pytest.approx(1.0) and r.depth[50, 20] == pytest.approx(3.0)


def test_perspective_correct_depth_on_a_tilted_plane():
    verts = np.array([[-1.0, -1.0, 2.0 - 0.5], [1.0, -1.0, 2.5], [1.0, 1.0, 2.5], [-1.0, 1.0, 1.5]])
    r = Scene().add(verts, SQUARE_FACES, lit=False).render(_camera())
    ys, xs = np.nonzero(r.mask)
    # On the plane z = 2 + 0.5 x, a pixel ray x = z (u - cx) / f gives z = 2 / (1 - 0.5 (u - cx) / f).
    expected = 2.0 / (1.0 - 0.5 * (xs - 49.5) / 100.0)
    np.testing.assert_allclose(r.depth[ys, xs], expected, rtol=1e-9)


def test_cube_silhouette_and_lit_faces():
    corners = np.array([[x, y, z] for x in (-0.3, 0.3) for y in (-0.3, 0.3) for z in (2.7, 3.3)])
    faces = np.array([[0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1], [2, 3, 7], [2, 7, 6],
                      [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3]])
    cam = Camera.look_at("c", K, [1.5, -1.2, 0.5], [0.0, 0.0, 3.0], up=(0, -1, 0), image_size=(100, 100))
    r = Scene().add(corners, faces).render(cam)
    hull = cv2.convexHull(cam.project(corners).astype(np.float32))
    # Each pixel centre: signed distance to the projected outline (positive inside).
    dist = np.array([[cv2.pointPolygonTest(hull, (float(x), float(y)), True) for x in range(100)]
                     for y in range(100)])
    assert np.all(r.mask[dist > 1e-6]) and not np.any(r.mask[dist < -1e-6])
    assert r.mask.sum() > 300
    # Three faces are visible, with different shading.
    shades = {round(float(v), 3) for v in r.rgb[r.mask].mean(1)}
    assert len(shades) >= 3


def test_body_silhouette_matches_distorted_projection():
    model = SMPLFamilyModel(make_model_arrays("smpl", seed=0))
    with torch.no_grad():
        verts = model(torch.zeros(1, 72), Rh=torch.tensor([[np.pi / 2, 0.0, 0.0]]),
                      Th=torch.tensor([[0.0, 0.0, 1.0]])).vertices[0].double().numpy()
    cam = Camera.look_at("c", [[800, 0, 319.5], [0, 800, 239.5], [0, 0, 1]], [0.3, -3.0, 1.2], [0, 0, 1.0],
                         dist=[-0.3, 0.12, 0.002, -0.001, 0.0], image_size=(640, 480))
    r = Scene().add(verts, model.faces.numpy()).render(cam)
    uv = cam.project(verts)
    faces = model.faces.numpy()
    tri = uv[faces]
    e1, e2 = tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]
    area = 0.5 * np.abs(e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0])
    longest = np.max(np.linalg.norm(tri - np.roll(tri, 1, axis=1), axis=-1), axis=1)
    # Point sampling can miss the tip of a sliver thinner than a pixel: check vertices of
    # triangles at least 1 px thick (smallest altitude), which cover the pixel centres near them.
    sampled = np.zeros(len(verts), bool)
    sampled[faces[2 * area / np.maximum(longest, 1e-9) >= 1.0].ravel()] = True
    inside = cam.in_image(uv) & sampled
    grown = cv2.dilate(r.mask.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    px = np.round(uv[inside]).astype(int)
    assert grown[px[:, 1], px[:, 0]].all()  # every projected vertex lies on the silhouette (1 px)
    # And the silhouette is the union of the projected triangles (no pixel more than 1 px off).
    ref = np.zeros((480, 640), np.uint8)
    for tri in uv[model.faces.numpy()]:
        cv2.fillConvexPoly(ref, np.round(tri * 16).astype(np.int32), 1, shift=4)
    ref_grown = cv2.dilate(ref, np.ones((3, 3), np.uint8)) > 0
    assert ref_grown[r.mask].all()
    assert r.mask.sum() > 0.9 * (ref > 0).sum()


def test_composite_alpha():
    r = Scene().add(_square(0.5, 2.0), SQUARE_FACES, (1.0, 1.0, 1.0), lit=False).render(_camera())
    out = composite(np.full((100, 100, 3), 100, np.uint8), r, alpha=0.5)
    assert tuple(out[50, 50]) == (178, 178, 178) and tuple(out[5, 5]) == (100, 100, 100)


def test_checkerboard_and_follow_camera():
    verts, faces, colours = checkerboard((1.0, 2.0), half_size=1.0, tile=0.5, subdivisions=2)
    assert verts.shape == (16 * 9, 3) and faces.shape == (16 * 8, 3) and np.all(verts[:, 2] == 0)
    down = Camera.look_at("top", [[200, 0, 99.5], [0, 200, 99.5], [0, 0, 1]], [1.0, 2.0, 4.0], [1.0, 2.0, 0.0],
                          up=(0, 1, 0), image_size=(200, 200))
    r = Scene().add(verts, faces, vertex_colours=colours, lit=False).render(down)
    a, b = down.project(np.array([[0.75, 2.25, 0.0], [1.25, 2.25, 0.0]]))  # centres of neighbouring tiles
    ca, cb = r.rgb[int(a[1]), int(a[0])], r.rgb[int(b[1]), int(b[0])]
    assert abs(ca.mean() - cb.mean()) > 0.2
    centres = np.array([[0.0, 0.0, 0.9], [0.1, 0.0, 0.9], [0.2, 0.0, 0.9]])
    cams = follow_cameras(centres, (320, 240), smooth_frames=1)
    for cam, c in zip(cams, centres, strict=True):
        np.testing.assert_allclose(cam.project(c * [1, 1, 0] + [0, 0, 0.9]), [159.5, 119.5], atol=1e-6)


def test_skeleton_overlays():
    image = np.zeros((100, 100, 3), np.uint8)
    kp = np.zeros((25, 3))
    kp[1] = [20, 20, 0.9]  # Neck
    kp[8] = [20, 80, 0.9]  # MidHip
    kp[2] = [80, 20, 0.0]  # RShoulder, not detected
    draw_skeleton(image, kp)
    assert image[50, 20].any() and not image[20, 60].any()
    cam = _camera()
    kp3d = np.zeros((25, 4))
    kp3d[1] = [0.0, -0.3, 2.0, 1.0]
    kp3d[8] = [0.0, 0.3, 2.0, 1.0]
    image = draw_keypoints3d(np.zeros((100, 100, 3), np.uint8), cam, kp3d)
    assert image[50, 50].any()


def test_video_is_h264_and_atomic(tmp_path):
    frames = [np.full((49, 65, 3), i * 20, np.uint8) for i in range(12)]
    with VideoWriter(tmp_path / "v.mp4", 25) as video:
        for f in frames:
            video.write(f)
    reader = imageio_ffmpeg.read_frames(str(tmp_path / "v.mp4"))
    meta = next(reader)
    assert meta["codec"] == "h264" and tuple(meta["size"]) == (66, 50) and meta["fps"] == 25
    assert sum(1 for _ in reader) == 12
    with pytest.raises(RuntimeError), VideoWriter(tmp_path / "broken.mp4", 25) as video:
        video.write(frames[0])
        raise RuntimeError("interrupted")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.mp4"]
    with pytest.raises(ValueError, match="uint8"), VideoWriter(tmp_path / "x.mp4", 25) as video:
        video.write(frames[0].astype(np.float32))


def test_tiles():
    tiles = tile_views([np.full((10, 20, 3), v, np.uint8) for v in (50, 100, 150)], columns=2)
    assert tiles.shape == (20, 40, 3) and tiles[15, 25].sum() == 0 and tiles[15, 5, 0] == 150
    portrait = tile_views([np.full((10, 20, 3), 50, np.uint8), np.full((20, 10, 3), 200, np.uint8)], columns=2)
    assert portrait.shape == (10, 40, 3)  # the portrait view fits its cell, 5 wide, centred, not stretched
    assert (portrait[:, 27:32] == 200).all() and portrait[:, 20:27].sum() == 0 and portrait[:, 32:].sum() == 0


def test_tile_columns_fit_a_screen():
    landscape, portrait = (1920, 1080), (1080, 1920)
    assert [tile_columns(n, landscape) for n in (1, 2, 3, 4, 5, 9)] == [1, 2, 2, 2, 3, 3]
    assert tile_columns(4, portrait) == 4  # four phones in a row: 1920 x 853, not 1920 x 3414
    assert tile_columns(4, (640, 480)) == 2
    assert tile_columns(2, (20, 10)) == 1  # two 2:1 cells show larger stacked on a 16:9 screen
    assert tile_views([np.zeros((10, 20, 3), np.uint8)] * 2).shape == (20, 20, 3)
    # the cell: the views' shape under which they all show largest (a mostly-portrait rig: portrait)
    assert tile_layout([landscape, portrait, portrait, portrait, landscape]) == (portrait, 5)
    assert tile_layout([landscape, landscape, landscape, portrait]) == (landscape, 2)
    mixed = tile_views([np.full((10, 20, 3), 50, np.uint8)] + [np.full((20, 10, 3), 200, np.uint8)] * 2)
    assert mixed.shape == (20, 30, 3) and (mixed[:, 10:] == 200).all()  # three portrait cells in a row
    assert (mixed[:7, :10] == 0).all() and (mixed[8:12, :10] == 50).all()  # the landscape one letterboxed


def test_checker_floor_matches_the_floor_mesh():
    """The floor drawn per pixel is the checkerboard mesh's: same pixels, colours and depths; a
    mesh behind it stays hidden, one in front is drawn."""
    cam = follow_cameras(np.array([[0.3, 0.2, 0.9]]), (160, 90))[0]
    verts, faces, colours = checkerboard((0.3, 0.2), half_size=1.5, tile=0.5)
    mesh = Scene().add(verts, faces, vertex_colours=colours, lit=False).render(cam)
    image, depth = CheckerFloor((0.3, 0.2), half_size=1.5, tile=0.5).render(cam, background=(1, 2, 3))
    seen = np.isfinite(depth)
    assert 0.2 < seen.mean() < 0.95 and np.array_equal(seen, mesh.mask)
    np.testing.assert_allclose(depth[seen], mesh.depth[seen], rtol=1e-9)
    np.testing.assert_array_equal(image[seen], np.round(mesh.rgb[seen] * 255).astype(np.uint8))
    assert (image[~seen] == [1, 2, 3]).all()
    u, v = np.round(cam.project(np.array([[0.3, 0.2, 0.0]]))[0]).astype(int)
    below = Scene().add(_square(0.2, -0.05, 0.3, 0.2), SQUARE_FACES, (1, 0, 0), lit=False)
    above = Scene().add(_square(0.2, 0.05, 0.3, 0.2), SQUARE_FACES, (1, 0, 0), lit=False)
    assert not below.render(cam, behind=depth).mask[v, u] and above.render(cam, behind=depth).mask[v, u]
    with pytest.raises(ValueError, match="pinhole"):
        CheckerFloor().render(_camera(dist=(0.1, 0.0, 0.0, 0.0, 0.0)))


def test_drawing_in_the_meshes_window_equals_drawing_the_whole_image():
    """A scene is rasterised only in the window that bounds its meshes (zeroing and blending a whole
    1080 x 1920 image per view cost more than drawing a body): every buffer equals a rasterisation
    into whole-image buffers, for meshes partly outside the image, partly behind the camera and
    over a floor drawn before, and composite blends the same pixels."""
    from mvmocap.render.mesh import NEAR, shade
    from mvmocap.render.raster import RasterBuffers, rasterize

    cam = _camera(dist=(-0.05, 0.01, 0.0, 0.0, 0.0))
    rng = np.random.default_rng(3)
    far = _square(0.9, 1.5, x=0.7)  # crosses the image's right edge
    across = np.array([[-0.3, -0.2, -0.5], [0.2, -0.1, 2.0], [0.1, 0.3, 1.0], [-0.2, 0.3, 0.02]])  # behind the camera
    small = _square(0.05, 3.0, x=-0.3, y=-0.2)
    behind = np.full((100, 100), np.inf)
    behind[60:, :] = 2.0  # a floor nearer than ``far`` there
    scene = Scene()
    for vertices in (far, across, small):
        scene.add(vertices, SQUARE_FACES)
    for depth_before in (None, behind):
        r = scene.render(cam, behind=depth_before)
        assert r.box != (0, 0, 100, 100) and r.box[2] == 100  # a window, reaching the right edge
        inv = np.zeros((100, 100)) if depth_before is None else 1.0 / depth_before
        image, owner = np.zeros((100, 100, 3), np.float32), np.full((100, 100), -1, np.int32)
        for k, (vertices, faces, _, colour, lit) in enumerate(scene.meshes):
            colours = shade(scene._normals[k] @ cam.R.T, colour, lit)
            rasterize(cam.project(vertices), cam.world_to_camera(vertices)[:, 2], faces, colours,
                      RasterBuffers(inv, image, owner), base_id=2 * k, near=NEAR)
        assert (owner >= 0).sum() > 500 and np.array_equal(r.mask, owner >= 0)
        assert np.array_equal(r.rgb, image) and np.array_equal(r.owner, np.where(owner >= 0, owner // 2, -1))
        np.testing.assert_array_equal(r.depth, np.where(owner >= 0, 1.0 / np.maximum(inv, 1e-300), np.inf))
        background = rng.integers(0, 256, (100, 100, 3), dtype=np.uint8)
        expected = background.copy()
        blended = 0.3 * background + 0.7 * 255.0 * image
        expected[owner >= 0] = np.clip(blended + 0.5, 0, 255).astype(np.uint8)[owner >= 0]
        assert np.array_equal(composite(background, r, 0.7), expected)
    nothing = Scene().add(_square(0.5, -2.0), SQUARE_FACES).render(cam)  # wholly behind the camera
    assert nothing.box == (0, 0, 0, 0) and not nothing.mask.any() and nothing.mask.shape == (100, 100)
