"""BLE codecs: the verified vectors of ble-protocols.md, round trips and fuzzing."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dosewatch.device import protocols as P
from dosewatch.device.protocols import (
    HeartRateMeasurement,
    PmdTimeline,
    ProtocolError,
    RscMeasurement,
    TreadmillData,
)
from dosewatch.errors import DosewatchError

FUZZ = settings(max_examples=300, deadline=None)
ROUND = settings(max_examples=150, deadline=None)


def h(text: str) -> bytes:
    return bytes.fromhex(text)


# ---------------------------------------------------------------------------------------
# UUIDs and the error type


def test_uuids_are_bleak_style():
    assert P.uuid16(0x2A37) == "00002a37-0000-1000-8000-00805f9b34fb"
    assert P.HR_MEASUREMENT == P.uuid16(0x2A37)
    assert P.HRS_SERVICE == "0000180d-0000-1000-8000-00805f9b34fb"
    assert P.TREADMILL_DATA == "00002acd-0000-1000-8000-00805f9b34fb"
    assert P.PMD_CONTROL == "fb005c81-02e7-f387-1cad-8acd2d8df0c8"
    with pytest.raises(ValueError):
        P.uuid16(0x10000)


def test_protocol_error_is_a_dosewatch_error_with_a_kind():
    with pytest.raises(DosewatchError) as info:
        P.decode_heart_rate(b"\x10")
    assert isinstance(info.value, ProtocolError)
    assert info.value.kind == "hr/truncated"
    assert "hr/truncated" in str(info.value)


# ---------------------------------------------------------------------------------------
# Heart rate


@pytest.mark.parametrize(
    "hexed, bpm, contact, energy, ticks, rr_ms, wide",
    [
        ("10 4B 1F 03 27 03", 75, None, None, (799, 807), (780.3, 788.1), False),
        ("16 48 55 03", 72, True, None, (853,), (833.0,), False),
        ("19 B4 00 2C 01 00 02", 180, None, 300, (512,), (500.0,), True),
        ("04 3C", 60, False, None, (), (), False),
    ],
)
def test_heart_rate_vectors(hexed, bpm, contact, energy, ticks, rr_ms, wide):
    m = P.decode_heart_rate(h(hexed))
    assert m == HeartRateMeasurement(bpm, contact, energy, ticks)
    assert m.rr_ms == pytest.approx(rr_ms, abs=0.05)
    assert P.encode_heart_rate(m, wide=wide) == h(hexed)


def test_body_sensor_location():
    assert P.decode_body_sensor_location(b"\x01") == "chest"
    with pytest.raises(ProtocolError) as info:
        P.decode_body_sensor_location(b"\x09")
    assert info.value.kind == "hr/bad-location"


@pytest.mark.parametrize("hexed, kind", [("", "hr/truncated"), ("01 48", "hr/truncated"),
                                         ("08 48 01", "hr/truncated")])
def test_heart_rate_malformed(hexed, kind):
    with pytest.raises(ProtocolError) as info:
        P.decode_heart_rate(h(hexed))
    assert info.value.kind == kind


@pytest.mark.parametrize(
    "hexed, expected, kinds",
    [
        # An odd byte after the RR values: the whole RR values are kept.
        ("10 48 55", HeartRateMeasurement(72, rr_ticks=()), ["hr/odd-rr-length"]),
        ("10 4B 1F 03 27", HeartRateMeasurement(75, rr_ticks=(799,)), ["hr/odd-rr-length"]),
        # Bytes without the RR flag, zero padding included.
        ("00 48 55", HeartRateMeasurement(72), ["hr/trailing-bytes"]),
        ("06 48 00 00 00", HeartRateMeasurement(72, contact=True), ["hr/trailing-bytes"]),
        # Reserved flag bits: ignored, the defined fields read as usual.
        ("20 48", HeartRateMeasurement(72), ["hr/reserved-flags"]),
        ("F0 4B 1F 03", HeartRateMeasurement(75, rr_ticks=(799,)), ["hr/reserved-flags"]),
        ("E6 3C", HeartRateMeasurement(60, contact=True), ["hr/reserved-flags"]),
    ],
)
def test_heart_rate_tolerated(hexed, expected, kinds):
    m = P.decode_heart_rate(h(hexed))
    assert [P.quirk_kind(q) for q in m.quirks] == kinds
    assert (m.bpm, m.contact, m.energy_kj, m.rr_ticks) == (
        expected.bpm, expected.contact, expected.energy_kj, expected.rr_ticks)


def test_heart_rate_reading_is_none_without_contact_or_at_zero():
    assert P.decode_heart_rate(h("16 48")).reading == 72
    assert P.decode_heart_rate(h("04 48")).reading is None  # supported, no contact
    assert P.decode_heart_rate(h("00 00")).reading is None  # 0 bpm is never a reading
    assert P.decode_heart_rate(h("00 48")).reading == 72  # contact not reported


heart_rates = st.builds(
    HeartRateMeasurement,
    bpm=st.integers(0, 0xFFFF),
    contact=st.none() | st.booleans(),
    energy_kj=st.none() | st.integers(0, 0xFFFF),
    rr_ticks=st.lists(st.integers(0, 0xFFFF), max_size=9).map(tuple),
)


@ROUND
@given(heart_rates, st.booleans())
def test_heart_rate_round_trip(m, wide):
    data = P.encode_heart_rate(m, wide=wide)
    assert P.decode_heart_rate(data) == m
    assert P.decode_heart_rate(bytearray(data)) == m


# ---------------------------------------------------------------------------------------
# RSC


@pytest.mark.parametrize(
    "hexed, expected",
    [
        ("04 34 03 AA", RscMeasurement(820 / 256, 170, True)),
        ("07 00 04 B4 7D 00 10 27 00 00", RscMeasurement(4.0, 180, True, 1.25, 1000.0)),
        ("00 90 01 74", RscMeasurement(1.5625, 116, False)),
    ],
)
def test_rsc_vectors(hexed, expected):
    assert P.decode_rsc(h(hexed)) == expected
    assert P.encode_rsc(expected) == h(hexed)


@pytest.mark.parametrize("hexed, kind", [("04 34 03", "rsc/truncated"),
                                         ("01 34 03 AA 7D", "rsc/truncated")])
def test_rsc_malformed(hexed, kind):
    with pytest.raises(ProtocolError) as info:
        P.decode_rsc(h(hexed))
    assert info.value.kind == kind


@pytest.mark.parametrize("hexed, kind", [("04 34 03 AA 00", "rsc/trailing-bytes"),
                                         ("0C 34 03 AA", "rsc/reserved-flags"),
                                         ("FC 34 03 AA", "rsc/reserved-flags")])
def test_rsc_tolerated(hexed, kind):
    m = P.decode_rsc(h(hexed))
    assert (m.speed_mps, m.cadence_spm, m.running) == (820 / 256, 170, True)
    assert [P.quirk_kind(q) for q in m.quirks] == [kind]


rsc_values = st.builds(
    RscMeasurement,
    speed_mps=st.integers(0, 0xFFFF).map(lambda r: r / 256),
    cadence_spm=st.integers(0, 255),
    running=st.booleans(),
    stride_m=st.none() | st.integers(0, 0xFFFF).map(lambda r: r / 100),
    distance_m=st.none() | st.integers(0, 0xFFFFFFFF).map(lambda r: r / 10),
)


@ROUND
@given(rsc_values)
def test_rsc_round_trip(m):
    assert P.decode_rsc(P.encode_rsc(m)) == m


# ---------------------------------------------------------------------------------------
# FTMS treadmill


@pytest.mark.parametrize(
    "hexed, expected",
    [
        ("00 00 E8 03", TreadmillData(speed_kmh=10.0)),
        ("0C 04 5A 04 E8 03 00 0F 00 FF 7F 2C 01",
         TreadmillData(speed_kmh=11.14, incline_pct=1.5, distance_m=1000, elapsed_s=300)),
        ("80 05 F4 01 28 00 FF FF FF 6E 58 02",
         TreadmillData(speed_kmh=5.0, energy_kcal=40, heart_rate_bpm=110, elapsed_s=600)),
        ("20 00 E8 03 68 01", TreadmillData(speed_kmh=10.0, pace_raw=360)),
    ],
)
def test_treadmill_vectors(hexed, expected):
    d = P.decode_treadmill(h(hexed))
    assert d == expected
    assert not d.more_data
    assert P.encode_treadmill(d) == h(hexed)


def test_treadmill_speed_in_mps_and_more_data():
    assert P.decode_treadmill(h("00 00 E8 03")).speed_mps == pytest.approx(1000 / 360)
    part = P.decode_treadmill(h("01 01 28"))  # More Data: no speed, HR 40
    assert part.more_data and part.speed_kmh is None and part.heart_rate_bpm == 40


def test_treadmill_pace_width_by_length_or_given():
    gss = P.decode_treadmill(h("20 00 E8 03 68 01"))  # fits the GSS uint16 exactly
    assert (gss.pace_raw, gss.pace_bytes, gss.quirks) == (360, 2, ())
    old = P.decode_treadmill(h("20 00 E8 03 68"))  # fits only the 2017 uint8
    assert (old.speed_kmh, old.pace_raw, old.pace_bytes) == (10.0, 0x68, 1)
    assert [P.quirk_kind(q) for q in old.quirks] == ["ftms/pace-1-byte"]
    # Both paces, then elapsed time: every later field shifts with the width, and the
    # length says which one the machine used (10 bytes: uint16 paces, 8: uint8).
    wide = P.decode_treadmill(h("60 04 E8 03 68 01 2C 01 00 00"))
    assert (wide.pace_raw, wide.average_pace_raw, wide.elapsed_s) == (360, 300, 0)
    narrow = P.decode_treadmill(h("60 04 E8 03 68 01 2C 01"))
    assert (narrow.pace_raw, narrow.average_pace_raw, narrow.elapsed_s) == (0x68, 1, 300)
    # Given explicitly: that width, and the stray byte is noted, not fatal.
    forced = P.decode_treadmill(h("20 00 E8 03 68 01"), pace_bytes=1)
    assert forced.pace_raw == 0x68
    assert [P.quirk_kind(q) for q in forced.quirks] == ["ftms/trailing-bytes"]
    # Neither width fits exactly (trailing bytes): the learned width decides.
    odd = "20 00 E8 03 68 01 00 00 00"
    assert P.decode_treadmill(h(odd)).pace_raw == 360
    assert P.decode_treadmill(h(odd), fallback_pace_bytes=1).pace_raw == 0x68


@pytest.mark.parametrize(
    "hexed, kind",
    [("00", "ftms/truncated"), ("00 00 E8", "ftms/truncated"),
     ("04 00 E8 03 00 10", "ftms/truncated")],
)
def test_treadmill_malformed(hexed, kind):
    with pytest.raises(ProtocolError) as info:
        P.decode_treadmill(h(hexed))
    assert info.value.kind == kind


@pytest.mark.parametrize("hexed, kinds", [
    ("00 00 E8 03 00", ["ftms/trailing-bytes"]),
    ("00 20 E8 03", ["ftms/reserved-flags"]),
    ("00 E0 E8 03 01 02", ["ftms/reserved-flags", "ftms/trailing-bytes"]),
])
def test_treadmill_tolerated(hexed, kinds):
    d = P.decode_treadmill(h(hexed))
    assert d.speed_kmh == 10.0
    assert [P.quirk_kind(q) for q in d.quirks] == kinds


def _maybe(strategy):
    return st.none() | strategy


def _scaled(lo, hi, scale, exclude=None):
    ints = st.integers(lo, hi)
    if exclude is not None:
        ints = ints.filter(lambda r: r != exclude)
    return ints.map(lambda r: r / scale)


@st.composite
def treadmill_values(draw, pace_bytes):
    pace_max = 0xFFFF if pace_bytes == 2 else 0xFF
    gain = draw(st.none() | st.tuples(_scaled(0, 0xFFFF, 10), _scaled(0, 0xFFFF, 10)))
    return TreadmillData(
        speed_kmh=draw(_maybe(_scaled(0, 0xFFFF, 100))),
        incline_pct=draw(_maybe(_scaled(-0x8000, 0x7FFF, 10, exclude=0x7FFF))),
        distance_m=draw(_maybe(st.integers(0, 0xFFFFFF))),
        average_speed_kmh=draw(_maybe(_scaled(0, 0xFFFF, 100))),
        ramp_angle_deg=draw(_maybe(_scaled(-0x8000, 0x7FFF, 10, exclude=0x7FFF))),
        elevation_gain_m=None if gain is None else gain[0],
        elevation_loss_m=None if gain is None else gain[1],
        pace_raw=draw(_maybe(st.integers(0, pace_max))),
        average_pace_raw=draw(_maybe(st.integers(0, pace_max))),
        energy_kcal=draw(_maybe(st.integers(0, 0xFFFE))),
        energy_per_hour_kcal=draw(_maybe(st.integers(0, 0xFFFE))),
        energy_per_minute_kcal=draw(_maybe(st.integers(0, 0xFE))),
        heart_rate_bpm=draw(_maybe(st.integers(0, 255))),
        met=draw(_maybe(_scaled(0, 255, 10))),
        elapsed_s=draw(_maybe(st.integers(0, 0xFFFF))),
        remaining_s=draw(_maybe(st.integers(0, 0xFFFF))),
        force_n=draw(_maybe(st.integers(-0x8000, 0x7FFE))),
        power_w=draw(_maybe(st.integers(-0x8000, 0x7FFE))),
    )


@ROUND
@given(st.sampled_from([1, 2]).flatmap(lambda w: st.tuples(st.just(w), treadmill_values(w))))
def test_treadmill_round_trip(case):
    pace_bytes, d = case
    assert P.decode_treadmill(P.encode_treadmill(d, pace_bytes=pace_bytes),
                              pace_bytes=pace_bytes) == d


def test_treadmill_encoder_refuses_the_marker_and_overflow():
    with pytest.raises(ValueError):
        P.encode_treadmill(TreadmillData(speed_kmh=1.0, force_n=0x7FFF))
    with pytest.raises(ValueError):
        P.encode_treadmill(TreadmillData(speed_kmh=700.0))


# ---------------------------------------------------------------------------------------
# Battery


def test_battery():
    assert P.decode_battery(b"\x64") == 100
    assert P.decode_battery(bytearray(b"\x00")) == 0
    for data, kind in ((b"\x65", "battery/out-of-range"), (b"", "battery/length"),
                       (b"\x10\x00", "battery/length")):
        with pytest.raises(ProtocolError) as info:
            P.decode_battery(data)
        assert info.value.kind == kind


# ---------------------------------------------------------------------------------------
# PMD control point

H10_SETTINGS = "F0 01 02 00 00 00 04 19 00 32 00 64 00 C8 00 01 01 10 00 02 03 02 00 04 00 08 00"


def test_pmd_get_settings_vectors():
    assert P.encode_pmd_command(P.PMD_OP_GET_SETTINGS, P.PMD_TYPE_ACC) == h("01 02")
    r = P.decode_pmd_response(h(H10_SETTINGS))
    assert (r.op, r.mtype, r.status, r.more, r.ok) == (1, 2, 0, 0, True)
    expected = {0: (25, 50, 100, 200), 1: (16,), 2: (2, 4, 8)}
    assert r.settings() == expected
    assert P.encode_pmd_response(1, 2, 0, P.encode_pmd_settings(expected)) == h(H10_SETTINGS)


def test_pmd_start_vectors():
    h10 = h("02 02 02 01 08 00 00 01 C8 00 01 01 10 00")
    settings_ = {P.PMD_SETTING_RANGE: 8, P.PMD_SETTING_SAMPLE_RATE: 200,
                 P.PMD_SETTING_RESOLUTION: 16}
    assert P.encode_pmd_command(P.PMD_OP_START, P.PMD_TYPE_ACC, settings_) == h10
    assert P.parse_pmd_command(h10) == (2, 2, settings_)
    verity = h("02 02 00 01 34 00 01 01 10 00 02 01 08 00 04 01 03")
    assert P.parse_pmd_command(verity) == (2, 2, {0: 52, 1: 16, 2: 8, 4: 3})
    assert P.encode_pmd_command(2, 2, {0: 52, 1: 16, 2: 8, 4: 3}) == verity

    answer = P.decode_pmd_response(h("F0 02 02 00 00 01"))
    assert answer.ok and answer.factor() is None and answer.settings() == {}
    verity_answer = P.decode_pmd_response(h("F0 02 02 00 00 05 01 40 DA 7F 39"))
    assert verity_answer.factor() == pytest.approx(0.000244, rel=1e-6)
    assert verity_answer.factor() == struct.unpack("<f", h("40 DA 7F 39"))[0]
    assert P.encode_pmd_response(2, 2, 0, P.encode_pmd_settings({5: (verity_answer.factor(),)})
                                 ) == h("F0 02 02 00 00 05 01 40 DA 7F 39")


def test_pmd_stop_and_errors():
    assert P.encode_pmd_command(P.PMD_OP_STOP, P.PMD_TYPE_ACC) == h("03 02")
    stop = P.decode_pmd_response(h("F0 03 02 00 00"))
    assert stop.ok and stop.params == b""
    failed = P.decode_pmd_response(h("F0 02 02 08 00"))
    assert not failed.ok and failed.status_text == "invalid sample rate"
    with pytest.raises(ProtocolError) as info:
        P.decode_pmd_response(h("01 02"))
    assert info.value.kind == "pmd/not-a-response"
    assert P.decode_pmd_stop_notice(h("01 02")) == {2}


def test_pmd_response_continuation():
    first = P.decode_pmd_response(h("F0 01 02 00 01 00 02 19 00"))
    last = P.decode_pmd_response(h("F0 01 02 00 00 32 00"))
    merged = first.extended(last)
    assert merged.more == 0 and merged.settings() == {0: (25, 50)}


@pytest.mark.parametrize(
    "hexed, kind",
    [("02", "pmd/truncated"), ("02 02 00 01 34", "pmd/truncated"),
     ("02 02 07 01 00", "pmd/unknown-setting"),
     ("02 02 00 02 34 00 32 00", "pmd/bad-setting-count"),
     ("02 02 00 01 34 00 00 01 34 00", "pmd/duplicate-setting")],
)
def test_pmd_command_malformed(hexed, kind):
    with pytest.raises(ProtocolError) as info:
        P.parse_pmd_command(h(hexed))
    assert info.value.kind == kind


def test_pmd_features_vectors():
    h10 = h("0F 05" + " 00" * 15)
    assert P.pmd_features(h10) == {P.PMD_TYPE_ECG, P.PMD_TYPE_ACC}
    assert P.encode_pmd_features({0, 2}) == h10
    verity = h("0F 6E" + " 00" * 15)
    assert P.pmd_features(verity) == {1, 2, 3, 5, 6}
    assert P.pmd_features(h("0F 00 02")) == {9}  # SDK mode
    with pytest.raises(ProtocolError) as info:
        P.pmd_features(h("F0 01 02"))
    assert info.value.kind == "pmd/not-features"


command_settings = st.dictionaries(
    st.sampled_from([0, 1, 2, 3, 4, 6]), st.integers(0, 255), max_size=6
).flatmap(
    lambda d: st.fixed_dictionaries(
        {k: st.integers(0, (1 << (8 * P.PMD_SETTING_WIDTHS[k])) - 1) for k in d}
    )
)


@ROUND
@given(st.integers(0, 255), st.integers(0, 255), command_settings)
def test_pmd_command_round_trip(op, mtype, settings_):
    assert P.parse_pmd_command(P.encode_pmd_command(op, mtype, settings_)) == (op, mtype, settings_)


float32s = st.floats(width=32, allow_nan=False, allow_infinity=False)


@ROUND
@given(
    st.dictionaries(
        st.sampled_from([0, 1, 2, 3, 4, 5]),
        st.lists(st.integers(0, 255), min_size=1, max_size=8),
        min_size=1,
    ),
    st.lists(float32s, min_size=1, max_size=3),
)
def test_pmd_settings_round_trip(raw, factors):
    settings_ = {
        k: tuple(factors) if k == 5 else tuple(v % (1 << (8 * P.PMD_SETTING_WIDTHS[k]))
                                              for v in vals)
        for k, vals in raw.items()
    }
    data = P.encode_pmd_response(1, 2, 0, P.encode_pmd_settings(settings_))
    response = P.decode_pmd_response(data)
    assert response.settings() == settings_


@ROUND
@given(st.sets(st.integers(0, 127)))
def test_pmd_features_round_trip(types):
    data = P.encode_pmd_features(types)
    assert len(data) == 17 and P.pmd_features(data) == types


# ---------------------------------------------------------------------------------------
# PMD data frames

H10_FRAME = "02 EA 54 A2 42 8B 45 52 08 01 45 FF E4 FF B5 03 45 FF E4 FF B8 03"
VERITY_PREFIX = "02 64 6C 76 C4 3C C6 7F 07 80 D0 FF 65 01 E4 0F 08 1D FC 07 FF 0C 13 F2"
BUILT_FRAME = "02 00 00 64 A7 B3 B6 E0 0D 80 64 00 38 FF E8 03 06 03 C3 AE CC 85 ED 29 1F"


def test_pmd_raw_frame_vector():
    f = P.decode_pmd_frame(h(H10_FRAME))
    assert (f.mtype, f.timestamp_ns, f.frame_type, f.compressed) == (
        2, 599_618_164_814_402_794, 1, False)
    assert f.samples.dtype == np.int64
    np.testing.assert_array_equal(f.samples, [[-187, -28, 949], [-187, -28, 952]])
    np.testing.assert_allclose(P.pmd_samples_to_g(f, None), [[-0.187, -0.028, 0.949],
                                                              [-0.187, -0.028, 0.952]])
    assert P.encode_pmd_frame(f.timestamp_ns, f.samples, frame_type=1) == h(H10_FRAME)


def test_pmd_verity_delta_vector():
    # The spec figure shows the first 6 bytes of a 29-sample block; as sent it is cut off...
    with pytest.raises(ProtocolError) as info:
        P.decode_pmd_frame(h(VERITY_PREFIX))
    assert info.value.kind == "pmd/truncated"
    # ...and with the block's count set to the two deltas shown it decodes completely.
    data = bytearray(h(VERITY_PREFIX))
    data[17] = 2
    f = P.decode_pmd_frame(bytes(data))
    assert (f.timestamp_ns, f.frame_type, f.compressed) == (540_368_444_604_181_604, 0, True)
    np.testing.assert_array_equal(f.samples, [[-48, 357, 4068], [-52, 364, 4067],
                                              [-40, 383, 4053]])
    factor = P.decode_pmd_response(h("F0 02 02 00 00 05 01 40 DA 7F 39")).factor()
    np.testing.assert_allclose(P.pmd_samples_to_g(f, factor)[0], [-0.012, 0.087, 0.993],
                               atol=5e-4)


def test_pmd_built_delta_vector_both_ways():
    f = P.decode_pmd_frame(h(BUILT_FRAME))
    assert f.timestamp_ns == 10**18 and f.compressed and f.frame_type == 0
    expected = [[100, -200, 1000], [103, -205, 1010], [90, -200, 1000], [120, -190, 1031]]
    np.testing.assert_array_equal(f.samples, expected)
    assert P.encode_pmd_frame(10**18, np.array(expected), frame_type=0, compressed=True
                              ) == h(BUILT_FRAME)


def test_pmd_sdk_ten_bit_block():
    head = h("02 00 00 00 00 00 00 00 00 81")
    frame = head + h("71 07 F0 6A 9E 8D") + h("0A 01 BE 5C BE BA")
    f = P.decode_pmd_frame(frame)
    np.testing.assert_array_equal(f.samples[0], [1905, 27376, -29282])
    np.testing.assert_array_equal(f.samples[1] - f.samples[0], [190, -105, -85])


def test_pmd_units():
    raw = P.PmdFrame(2, 0, 1, True, np.array([[1000, -500, 0]]))
    np.testing.assert_allclose(P.pmd_samples_to_g(raw, None), [[1.0, -0.5, 0.0]])
    np.testing.assert_allclose(P.pmd_samples_to_g(raw, 2.0), [[2.0, -1.0, 0.0]])
    type0 = P.PmdFrame(2, 0, 0, True, np.array([[4096, 0, -4096]]))
    np.testing.assert_allclose(P.pmd_samples_to_g(type0, 1 / 4096), [[1.0, 0.0, -1.0]])
    for frame, kind in ((type0, "pmd/missing-factor"),
                        (P.PmdFrame(2, 0, 5, True, np.zeros((1, 3), np.int64)),
                         "pmd/unknown-frame-type"),
                        (P.PmdFrame(0, 0, 0, False, np.zeros((1, 3), np.int64)),
                         "pmd/unsupported-measurement")):
        with pytest.raises(ProtocolError) as info:
            P.pmd_samples_to_g(frame, None)
        assert info.value.kind == kind


@pytest.mark.parametrize(
    "hexed, kind",
    [("02 00 00", "pmd/truncated"), ("02" + " 00" * 8 + " 01", "pmd/empty-frame"),
     ("02" + " 00" * 8 + " 01 00 00 00", "pmd/ragged-frame"),
     ("02" + " 00" * 8 + " 07 00 00 00", "pmd/unknown-frame-type"),
     ("00" + " 00" * 8 + " 00 00 00 00", "pmd/unsupported-measurement"),
     ("02" + " 00" * 8 + " 80 00 00 00 00 00", "pmd/truncated"),
     ("02" + " 00" * 8 + " 80 00 00 00 00 00 00 21 01", "pmd/bad-delta-width"),
     ("02" + " 00" * 8 + " 80 00 00 00 00 00 00 00 01", "pmd/bad-delta-width"),
     ("02" + " 00" * 8 + " 80 00 00 00 00 00 00 08 02 00", "pmd/truncated"),
     ("02" + " 00" * 8 + " 80 00 00 00 00 00 00 08", "pmd/truncated")],
)
def test_pmd_frame_malformed(hexed, kind):
    with pytest.raises(ProtocolError) as info:
        P.decode_pmd_frame(h(hexed))
    assert info.value.kind == kind


@ROUND
@given(st.sampled_from([0, 1, 2]), st.integers(1, 40), st.integers(0, 2**63 - 1), st.randoms())
def test_pmd_raw_frame_round_trip(frame_type, n, ts, rnd):
    bits = 8 * (frame_type + 1)
    rng = np.random.default_rng(rnd.getrandbits(32))
    samples = rng.integers(-(1 << (bits - 1)), 1 << (bits - 1), size=(n, 3))
    f = P.decode_pmd_frame(P.encode_pmd_frame(ts, samples, frame_type=frame_type))
    assert (f.timestamp_ns, f.frame_type, f.compressed) == (ts, frame_type, False)
    np.testing.assert_array_equal(f.samples, samples)


def _blocks(data: bytes, channels: int, resolution: int) -> list[tuple[int, int]]:
    """(width, count) of each block of a compressed frame, read the slow obvious way."""
    offset = 10 + channels * ((resolution + 7) // 8)
    found = []
    while offset < len(data):
        width, count = data[offset], data[offset + 1]
        found.append((width, count))
        offset += 2 + (width * count * channels + 7) // 8
    return found


@ROUND
@given(
    n=st.integers(1, 700),
    width=st.integers(1, 24),
    resolution=st.sampled_from([8, 12, 16, 22, 24]),
    channels=st.integers(1, 4),
    rnd=st.randoms(),
)
def test_pmd_delta_frame_round_trip(n, width, resolution, channels, rnd):
    rng = np.random.default_rng(rnd.getrandbits(32))
    lim = 1 << (resolution - 1)
    reference = rng.integers(-lim, lim, size=(1, channels))
    deltas = rng.integers(-(1 << (width - 1)), 1 << (width - 1), size=(n - 1, channels))
    samples = np.cumsum(np.vstack([reference, deltas]), axis=0)
    data = P.encode_pmd_frame(123, samples, frame_type=1, compressed=True,
                              resolution=resolution)
    f = P.decode_pmd_frame(data, channels=channels, resolution=resolution)
    assert f.compressed and f.frame_type == 1 and f.timestamp_ns == 123
    np.testing.assert_array_equal(f.samples, samples)
    # Blocks of at most 255 samples, each at the smallest width holding its deltas.
    blocks = _blocks(data, channels, resolution)
    assert [c for _, c in blocks] == [min(255, n - 1 - s) for s in range(0, n - 1, 255)]
    for (w, _), start in zip(blocks, range(0, n - 1, 255), strict=True):
        d = deltas[start : start + 255]
        assert d.min() >= -(1 << (w - 1)) and d.max() < (1 << (w - 1))
        assert w == 1 or d.min() < -(1 << (w - 2)) or d.max() >= (1 << (w - 2))


# ---------------------------------------------------------------------------------------
# Sample times


def test_timeline_vector():
    tl = PmdTimeline(200.0)
    first = tl.sample_times_ns(1_000_000_000, 4)
    np.testing.assert_array_equal(first, [985_000_000, 990_000_000, 995_000_000, 1_000_000_000])
    assert first.dtype == np.int64
    second = tl.sample_times_ns(1_040_000_000, 4)
    np.testing.assert_array_equal(second, [1_010_000_000, 1_020_000_000, 1_030_000_000,
                                           1_040_000_000])


def test_timeline_large_sensor_times_are_exact():
    tl = PmdTimeline(52.0)
    t0 = 599_618_164_814_402_794
    tl.sample_times_ns(t0, 3)
    times = tl.sample_times_ns(t0 + 3 * 19_230_769, 3)
    assert times[-1] == t0 + 3 * 19_230_769
    assert np.all(np.diff(times) > 0) and times[0] > t0


def test_timeline_time_backwards_keeps_state():
    tl = PmdTimeline(100.0)
    tl.sample_times_ns(5_000_000_000, 10)
    for bad in (5_000_000_000, 4_000_000_000):
        with pytest.raises(ProtocolError) as info:
            tl.sample_times_ns(bad, 10)
        assert info.value.kind == "pmd/time-backwards"
        assert tl.previous_ns == 5_000_000_000
    np.testing.assert_array_equal(tl.sample_times_ns(5_100_000_000, 10),
                                  5_000_000_000 + np.arange(1, 11) * 10_000_000)
    tl.reset()
    assert tl.previous_ns is None
    np.testing.assert_array_equal(tl.sample_times_ns(1_000_000_000, 2),
                                  [990_000_000, 1_000_000_000])


def test_timeline_refuses_timestamps_beyond_int64():
    with pytest.raises(ProtocolError) as info:
        PmdTimeline(100.0).sample_times_ns(2**63, 1)
    assert info.value.kind == "pmd/bad-timestamp"


def test_timeline_gap_option():
    plain, gappy = PmdTimeline(100.0), PmdTimeline(100.0, max_gap_s=0.5)
    for tl in (plain, gappy):
        tl.sample_times_ns(1_000_000_000, 10)
    # 10 samples arriving 5 s later: the SDK rule stretches them across the gap.
    assert plain.sample_times_ns(6_000_000_000, 10)[0] == 1_500_000_000
    assert gappy.sample_times_ns(6_000_000_000, 10)[0] == 5_910_000_000


# ---------------------------------------------------------------------------------------
# Any bytes in: a value or a ProtocolError


def _value_or_protocol_error(decode, data):
    try:
        decode(data)
    except ProtocolError as exc:
        assert exc.kind and "/" in exc.kind


DECODERS = {
    "hr": P.decode_heart_rate,
    "rsc": P.decode_rsc,
    "ftms": P.decode_treadmill,
    "ftms-pace1": lambda d: P.decode_treadmill(d, pace_bytes=1),
    "battery": P.decode_battery,
    "location": P.decode_body_sensor_location,
    "pmd-response": P.decode_pmd_response,
    "pmd-settings": lambda d: P.decode_pmd_response(b"\xf0" + d).settings(),
    "pmd-factor": lambda d: P.decode_pmd_response(b"\xf0" + d).factor(),
    "pmd-command": P.parse_pmd_command,
    "pmd-features": P.pmd_features,
    "pmd-stop": P.decode_pmd_stop_notice,
    "pmd-frame": P.decode_pmd_frame,
}


@pytest.mark.parametrize("name", sorted(DECODERS))
@FUZZ
@given(data=st.binary(max_size=48))
def test_any_bytes_give_a_value_or_a_protocol_error(name, data):
    _value_or_protocol_error(DECODERS[name], data)


@FUZZ
@given(
    mtype=st.sampled_from([0, 2, 5, 0x42]),
    ts=st.integers(0, 2**64 - 1) | st.just(10**18),
    frame_type=st.integers(0, 255),
    body=st.binary(max_size=120),
    channels=st.integers(1, 4),
    resolution=st.integers(1, 32),
    factor=st.none() | st.floats(1e-6, 1.0),
)
def test_any_frame_body_gives_samples_or_a_protocol_error(
    mtype, ts, frame_type, body, channels, resolution, factor
):
    data = bytes([mtype]) + ts.to_bytes(8, "little") + bytes([frame_type]) + body
    try:
        f = P.decode_pmd_frame(data, channels=channels, resolution=resolution)
    except ProtocolError:
        return
    assert f.samples.ndim == 2 and f.samples.shape[1] == channels and len(f.samples) >= 1
    _value_or_protocol_error(lambda _: P.pmd_samples_to_g(f, factor), data)
    _value_or_protocol_error(lambda _: PmdTimeline(50.0).sample_times_ns(f.timestamp_ns,
                                                                        len(f.samples)), data)
