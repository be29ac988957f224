"""Channel physics: closed form, shadowing, smoothness and position dependence."""

from __future__ import annotations

import zlib
from dataclasses import replace

import numpy as np
import pytest

from lofi.sim import channel, receiver
from lofi.stages.scenes import load_scene

SCENE = load_scene("lab")
TX, RX = np.asarray(SCENE.radio.tx_m), np.asarray(SCENE.radio.rx_m)
FREQS = channel.subcarrier_freqs_hz(SCENE.radio.channel)
LAMBDA = channel.C_MPS / FREQS.mean()


def paths(room=SCENE.room):
    return channel.build_static_paths(room, TX, RX, float(FREQS.mean()), np.random.default_rng(0))


def response_with_body(xy_region: np.ndarray, p=None) -> np.ndarray:
    """Static response with the default subject standing at region points (no scattering)."""
    p = p or paths()
    subject = SCENE.subjects[0]
    xy_room = np.atleast_2d(xy_region) + np.asarray(SCENE.region.origin_m)
    loss = channel.shadowing_db(p, xy_room, subject.width_m, subject.height_m, LAMBDA)
    return (10 ** (-loss / 20)) @ channel.static_response(p, FREQS)


def test_los_only_matches_the_closed_form():
    silent = replace(SCENE.room, gamma={k: 0.0 for k in SCENE.room.gamma}, clutter_count=0)
    p = paths(silent)
    assert p.kind.count("los") == 1 and np.allclose(np.abs(p.amplitude[1:]), 0)
    d = np.linalg.norm(RX - TX)
    expected = LAMBDA / (4 * np.pi * d) * np.exp(-2j * np.pi * FREQS * d / channel.C_MPS)
    assert np.allclose(channel.static_response(p, FREQS).sum(axis=0), expected, rtol=1e-9)


def test_image_method_finds_all_first_and_second_order_paths():
    p = paths()
    assert p.kind.count("reflection") == 24  # 6 first-order + 18 second-order images
    assert np.all(p.delay_s[1:] > p.delay_s[0])


def test_knife_edge_loss():
    assert channel.knife_edge_loss_db(np.array([0.0]))[0] == pytest.approx(6.0, abs=0.05)
    assert channel.knife_edge_loss_db(np.array([-1.0]))[0] == 0.0
    values = channel.knife_edge_loss_db(np.linspace(-0.7, 3, 50))
    assert np.all(np.diff(values) >= 0) and values.max() <= channel.MAX_SHADOW_DB


ROOM_RNG = lambda: np.random.default_rng(zlib.crc32(b"lab/room"))  # noqa: E731 - the default room's clutter
NOBODY = np.array([40.0, 40.0])  # far outside the room: no one shadows anything
ON_LOS = (TX[:2] + RX[:2]) / 2 - np.asarray(SCENE.region.origin_m)  # region frame


def local_channels(body_xy_region: np.ndarray) -> np.ndarray:
    """Channels (25 x 52) for the receiver moved over a 0.24 m square (about 2 wavelengths).

    "RSSI drops when the body blocks the LOS" is a statement about the local-mean
    power, so small-scale fading is averaged over receiver positions, as a
    measurement would.
    """
    subject = SCENE.subjects[0]
    out = []
    for dx in np.linspace(-0.12, 0.12, 5):
        for dy in np.linspace(-0.12, 0.12, 5):
            rx = RX + np.array([dx, dy, 0.0])
            p = channel.build_static_paths(SCENE.room, TX, rx, float(FREQS.mean()), ROOM_RNG())
            xy = np.atleast_2d(body_xy_region) + np.asarray(SCENE.region.origin_m)
            loss = channel.shadowing_db(p, xy, subject.width_m, subject.height_m, LAMBDA)
            out.append(((10 ** (-loss / 20)) @ channel.static_response(p, FREQS))[0])
    return np.array(out)


def test_body_on_the_los_drops_local_mean_power_by_several_db_and_changes_the_pattern():
    blocked, clear = local_channels(ON_LOS), local_channels(NOBODY)
    drop_db = 10 * np.log10(np.mean(np.abs(clear) ** 2) / np.mean(np.abs(blocked) ** 2))
    assert drop_db > 3.0
    pattern = np.abs(blocked) / np.abs(blocked).mean(axis=1, keepdims=True)
    reference = np.abs(clear) / np.abs(clear).mean(axis=1, keepdims=True)
    assert np.median(np.max(np.abs(pattern - reference), axis=1)) > 0.2


def test_rssi_follows_the_blocking():
    channels = np.concatenate([np.repeat(local_channels(xy), 20, axis=0) for xy in (ON_LOS, NOBODY)])
    out = receiver.receive(channels, 20.0, 14.0, -93, np.ones(52), np.random.default_rng(1))
    rssi_blocked, rssi_clear = out.rssi_dbm.reshape(2, -1).mean(axis=1)
    # Mean RSSI is a mean of dB values, so deep fades weigh in: it drops less than
    # the local-mean power (2.3 vs 3.4 dB in the default room).
    assert rssi_clear - rssi_blocked > 2.0


def test_amplitude_is_smooth_in_position_and_depends_on_it():
    rng = np.random.default_rng(2)
    p = paths()
    subject = SCENE.subjects[0]
    tx_rx = (TX, RX)
    start = np.array([0.9, 1.0])
    track = start + np.c_[np.zeros(101), np.linspace(0, 1.0, 101)]  # 1 m in 1 cm steps
    room_xy = track + np.asarray(SCENE.region.origin_m)
    scat = np.c_[room_xy, np.full(len(track), 1.2)][:, None, :]
    body = channel.body_response(
        scat, np.array([1.0]), subject.rcs_m2, np.zeros((len(track), 1)), *tx_rx, FREQS
    )
    static = response_with_body(track, p)
    amplitude = np.abs(static + body)
    step = np.abs(np.diff(amplitude, axis=0)) / amplitude[:-1]
    assert np.median(step) < 0.02  # 1 cm moves change amplitudes by ~1 %
    span = np.abs(amplitude[-1] - amplitude[0]) / amplitude[0]
    assert span.mean() > 5 * np.median(step)
    del rng
