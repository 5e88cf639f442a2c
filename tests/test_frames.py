"""Video frames as phones write them: a rotation tag, a variable frame rate."""

import subprocess

import cv2
import imageio_ffmpeg
import numpy as np
import pytest

from mvmocap.io import FrameSource

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()


@pytest.fixture(scope="module")
def frames_folder(tmp_path_factory):
    """Twelve 64 x 48 landscape frames, a white square in the top-left corner and a green one
    moving along the bottom, as PNG files."""
    folder = tmp_path_factory.mktemp("frames")
    for i in range(12):
        image = np.zeros((48, 64, 3), np.uint8)
        image[:10, :10] = 255
        image[36:46, 4 * i:4 * i + 10, 1] = 255
        cv2.imwrite(str(folder / f"f{i:02d}.png"), image)
    return folder


def _ffmpeg(*args):
    subprocess.run([FFMPEG, "-y", "-loglevel", "error", *map(str, args)], check=True)


def test_rotation_tag_gives_upright_frames(frames_folder, tmp_path):
    """A landscape stream tagged to be shown turned 90 degrees counter-clockwise (a phone held
    upright) is delivered portrait, the top-left corner turned to the bottom-left."""
    plain, tagged = tmp_path / "plain.mp4", tmp_path / "tagged.mp4"
    _ffmpeg("-framerate", 30, "-i", frames_folder / "f%02d.png", "-c:v", "libx264", "-pix_fmt", "yuv420p", plain)
    _ffmpeg("-display_rotation", 90, "-i", plain, "-c", "copy", tagged)
    source = FrameSource(tagged)
    assert source.size == (48, 64) and FrameSource(plain).size == (64, 48)
    _, image = next(source.frames(0, 1))
    assert image.shape == (64, 48, 3)
    ys, xs = np.nonzero(image[..., 0] > 200)
    assert ys.min() >= 50 and xs.max() <= 12  # the square now lies bottom-left


def test_variable_frame_rate_times_come_from_the_container(frames_folder, tmp_path):
    """Frames whose timestamps are not frame number / fps keep their own times."""
    video = tmp_path / "vfr.mp4"
    # frame N at N/30 + 0, 12 or 24 ms, and 200 ms later from frame 6 on (frames dropped there)
    retimed = "settb=1/1000,setpts='(N/30+0.012*mod(N,3)+0.2*gte(N,6))/TB'"
    _ffmpeg("-framerate", 30, "-i", frames_folder / "f%02d.png", "-vf", retimed,
            "-fps_mode", "passthrough", "-enc_time_base", "1:1000", "-c:v", "libx264", "-pix_fmt", "yuv420p", video)
    matroska = tmp_path / "vfr.mkv"  # no frame count in the container (OBS records so)
    _ffmpeg("-i", video, "-c", "copy", matroska)
    n = np.arange(12)
    for path in (video, matroska):
        source = FrameSource(path)
        times = [source.current_time for _ in source.frames()]
        assert source.count == 12 and len(times) == 12, path.name
        np.testing.assert_allclose(times, n / 30 + 0.012 * (n % 3) + 0.2 * (n >= 6), atol=2e-3)


def _numbered_video(path, frames=90):
    """A 320x240 H.264 video at 30 fps, a keyframe every 10 frames, each frame's number drawn in."""
    writer = imageio_ffmpeg.write_frames(str(path), (320, 240), fps=30, codec="libx264", macro_block_size=1,
                                         output_params=["-g", "10", "-pix_fmt", "yuv420p"])
    writer.send(None)
    for k in range(frames):
        image = np.zeros((240, 320, 3), np.uint8)
        cv2.putText(image, str(k), (50, 150), cv2.FONT_HERSHEY_SIMPLEX, 3, (255, 255, 255), 5)
        image[:, (3 * k) % 320] = 255
        writer.send(image)
    writer.close()
    return path


def test_corrupt_packets_in_the_middle_leave_the_rest_in_place(tmp_path, caplog):
    """Issue 30: OpenCV's reader stops at the first corrupt packet ("video ends early" stopped the
    run). Now the frames that cannot be decoded come out grey and are named, and every later frame
    keeps its place in time."""
    clean = FrameSource(_numbered_video(tmp_path / "clean.mp4"))
    data = bytearray((tmp_path / "clean.mp4").read_bytes())
    middle = len(data) // 2
    data[middle:middle + 3000] = np.random.default_rng(0).integers(0, 256, 3000, dtype=np.uint8).tobytes()
    (tmp_path / "cam2.mp4").write_bytes(bytes(data))
    damaged = FrameSource(tmp_path / "cam2.mp4")
    assert damaged.count == 90
    with caplog.at_level("WARNING"):
        frames = dict(damaged.frames())
    assert sorted(frames) == list(range(90))
    lost = damaged.undecodable
    assert lost and all(np.all(frames[i] == 128) for i in lost)
    assert "cam2.mp4: frames" in caplog.text and "could not be decoded" in caplog.text
    reference = dict(clean.frames())
    # From the next keyframe on (one every 10 frames), the very same frames: nothing shifted in time
    # (the frames of the damaged group of pictures may decode with errors, from damaged references).
    after = list(range(10 * (max(lost) // 10 + 1), 90))
    assert len(after) >= 20 and all(np.array_equal(frames[i], reference[i]) for i in after)
    assert all(np.array_equal(frames[i], reference[i]) for i in range(10 * (min(lost) // 10)))


def test_chosen_frames_equal_those_of_a_whole_pass(tmp_path):
    """``read_frames`` decodes the frames between the chosen ones without converting them (the
    silhouette check and the thumbnails read a few frames each): the chosen frames are exactly
    those a whole pass yields, in one pass (a clean video and a damaged one, whose undecodable
    frames are grey there too) or seek by seek."""
    _numbered_video(tmp_path / "clean.mp4")
    data = bytearray((tmp_path / "clean.mp4").read_bytes())
    middle = len(data) // 2
    data[middle:middle + 3000] = np.random.default_rng(0).integers(0, 256, 3000, dtype=np.uint8).tobytes()
    (tmp_path / "damaged.mp4").write_bytes(bytes(data))
    for name, one_pass in (("clean.mp4", 400), ("clean.mp4", 10), ("damaged.mp4", 400)):
        source = FrameSource(tmp_path / name)
        whole = dict(source.frames())
        wanted = [2, 3, 17, 44, 45, 60, 89] + source.undecodable[:2]
        assert (name == "damaged.mp4") == bool(source.undecodable)
        chosen = FrameSource(tmp_path / name).read_frames(wanted, one_pass=one_pass)
        assert sorted(chosen) == sorted(set(wanted)), (name, one_pass)
        assert all(np.array_equal(chosen[k], whole[k]) for k in chosen), (name, one_pass)
