"""Bytes in, values out: test vectors the project did not write.

Each vector is a byte string with the values another implementation's test suite, or a
real device capture, says it carries. Where the other implementation refuses a packet
that our decoder reads (liberal in what it accepts), the test says so. Sources (public
repositories; byte strings quoted as facts, no code copied):

- **Polar SDK**: polarofficial/polar-ble-sdk, ``sources/Android/android-communications/
  library/src/test/java/com/polar/androidcommunications/api/ble/model/gatt/client/``
  ``BleHrClientTest.kt`` (commit 3f7106a74af7d2b1ad4819727ed0ca6d9d067b52),
  ``BleRscClientTest.kt`` (8604a9b9727a2e1c4a7297f0e3c027519f0b60c8) and
  ``pmd/model/AccDataTest.kt`` (0aabf34a84cd3760ed5de52350a91340659ace95).
- **Nordic**: NordicSemiconductor/Android-BLE-Common-Library, ``ble-common/src/test/java/
  no/nordicsemi/android/ble/common/callback/hr/HeartRateMeasurementDataCallbackTest.java``
  (1c86e44c5d2c6368d11daec90e062ba5e0f36c5c) and ``.../rsc/
  RunningSpeedAndCadenceMeasurementDataCallbackTest.java``
  (0c84d7aea26a6f8724c53d125dc9361242eea073).
- **OpenTracks**: OpenTracksApp/OpenTracks (Apache-2.0), ``src/androidTest/java/de/
  dennisguse/opentracks/sensors/BluetoothHandlerManagerHeartRateTest.java`` and
  ``BluetoothHandlerRunningSpeedAndCadenceTest.java``
  (3c23a9f5400c7b5b914a221469d76cc019a18296).
- **Real treadmill captures**: a CITYSPORTS walking pad (``CITYSPORTS-Linker``) recorded
  with nRF Connect, hughesjs/FitnessMachine ``protocol/CS-WP8/
  1_to_3_with_person_60s_49m_3cal.log`` (cb85a8eb065e260742e2286149086f5fd1dc4c40; 197
  notifications, every one flags 0x2484 and 17 bytes); a KingSmith WalkingPad Z1
  (``KS-HD-Z1D``) capture in kkz6/WalkingPadSDK ``Tests/WalkingPadSDKTests/
  FTMSTests.swift`` (ac451ffef245adf842f1b684ed74222111b81bc6); a Horizon treadmill's
  treadmill data in cagnulein/qdomyos-zwift issue #175.
"""

from __future__ import annotations

import struct

import numpy as np
import pytest

from dosewatch.device import protocols as P


def h(text: str) -> bytes:
    return bytes.fromhex(text.replace("-", " "))


def kinds(quirks: tuple[str, ...]) -> list[str]:
    return [P.quirk_kind(q) for q in quirks]


# ---------------------------------------------------------------------------------------
# Heart rate


@pytest.mark.parametrize(
    "source, hexed, bpm, contact, energy, rr",
    [
        # Polar SDK, BleHrClientTest
        ("polar uint8", "00 FF", 255, None, None, ()),
        ("polar uint8", "00 7F", 127, None, None, ()),
        ("polar uint16", "01 80 80", 32896, None, None, ()),
        ("polar uint16", "01 7F 7F", 32639, None, None, ()),
        ("polar contact", "06 00", 0, True, None, ()),
        ("polar no contact", "04 00", 0, False, None, ()),
        ("polar contact unsupported", "02 00", 0, None, None, ()),
        ("polar energy", "09 00 00 FF FF", 0, None, 65535, ()),
        ("polar energy", "08 00 7F 80", 0, None, 32895, ()),
        ("polar rr", "10 00 FF FF", 0, None, None, (65535,)),
        ("polar rr", "11 00 00 FF FF 7F 80", 0, None, None, (65535, 32895)),
        ("polar rr", "11 00 00 00 00", 0, None, None, (0,)),
        # Nordic, HeartRateMeasurementDataCallbackTest
        ("nordic simple", "00 55", 85, None, None, ()),
        ("nordic no contact", "04 FF", 255, False, None, ()),
        ("nordic uint8", "1E 55 32 00 21 00", 85, True, 50, (33,)),
        ("nordic uint16", "1F 01 01 32 01 01 00 02 01 FF FF", 257, True, 306, (1, 258, 65535)),
        # OpenTracks, BluetoothHandlerManagerHeartRateTest
        ("opentracks uint8", "02 3C", 60, None, None, ()),
        ("opentracks uint16", "01 01 01", 257, None, None, ()),
    ],
)
def test_heart_rate(source, hexed, bpm, contact, energy, rr):
    m = P.decode_heart_rate(h(hexed))
    assert (m.bpm, m.contact, m.energy_kj, m.rr_ticks, m.quirks) == (bpm, contact, energy, rr, ())


def test_heart_rate_rr_in_ms_as_the_polar_sdk():
    # Polar SDK: 65535 ticks -> 63999 ms, 32895 -> 32124 ms (truncated to whole ms).
    m = P.decode_heart_rate(h("11 00 00 FF FF 7F 80"))
    assert [int(v) for v in m.rr_ms] == [63999, 32124]


def test_heart_rate_values_that_are_not_readings():
    # Nordic's "no contact" packet says 255 bpm with contact False; Polar's zeros: neither
    # is a heart rate, and the recorder stores none for them (the raw bytes stay).
    assert P.decode_heart_rate(h("04 FF")).reading is None
    assert P.decode_heart_rate(h("06 00")).reading is None
    assert P.decode_heart_rate(h("1E 55 32 00 21 00")).reading == 85


def test_heart_rate_rr_flag_without_rr_bytes():
    # Nordic refuses this packet (RR flag, no RR bytes); zero RR values per notification
    # are normal (ble-protocols.md section 1), so the heart rate is kept.
    m = P.decode_heart_rate(h("17 01 01"))
    assert (m.bpm, m.contact, m.rr_ticks, m.quirks) == (257, True, (), ())


# ---------------------------------------------------------------------------------------
# Running speed and cadence


@pytest.mark.parametrize(
    "source, hexed, speed_raw, cadence, running, stride_cm, distance_dm",
    [
        # Polar SDK, BleRscClientTest
        ("polar full", "07 34 12 56 89 07 04 03 02 01", 4660, 86, True, 1929, 16909060),
        ("polar plain", "00 0A 00 14", 10, 20, False, None, None),
        # Nordic, RunningSpeedAndCadenceMeasurementDataCallbackTest (speed 3 m/s)
        ("nordic", "07 00 03 12 56 00 01 00 00 F0", 3 * 256, 18, True, 86, 0xF0000001),
        # OpenTracks, BluetoothHandlerRunningSpeedAndCadenceTest (5 m/s, 80 spm)
        ("opentracks", "02 00 05 50 FF FF 00 01", 5 * 256, 80, False, None, 0x0100FFFF),
    ],
)
def test_rsc(source, hexed, speed_raw, cadence, running, stride_cm, distance_dm):
    m = P.decode_rsc(h(hexed))
    assert m.speed_mps == speed_raw / 256
    assert (m.cadence_spm, m.running, m.quirks) == (cadence, running, ())
    assert m.stride_m == (None if stride_cm is None else stride_cm / 100)
    assert m.distance_m == (None if distance_dm is None else distance_dm / 10)


def test_rsc_opentracks_distance_in_metres():
    assert P.decode_rsc(h("02 00 05 50 FF FF 00 01")).distance_m == pytest.approx(
        6553.5 + 1677721.6)


def test_rsc_nordic_short_packet_is_truncated():
    with pytest.raises(P.ProtocolError) as info:  # Nordic: invalid (9 bytes)
        P.decode_rsc(h("07 00 03 12 56 00 00 00 00"))
    assert info.value.kind == "rsc/truncated"


# ---------------------------------------------------------------------------------------
# Polar PMD acceleration (AccDataTest)

POLAR_RAW_TYPE1 = (
    "02 00 94 35 77 00 00 00 00 01 "
    "F7 FF FF FF E7 03 F8 FF FE FF E5 03 F9 FF FF FF E5 03 FA FF FF FF E6 03 FA FF FE FF E6 03 "
    "F9 FF FF FF E5 03 F8 FF FF FF E6 03 F8 FF FE FF E6 03 FA FF FF FF E5 03 FA FF FF FF E7 03 "
    "FA FF FF FF E5 03 F8 FF FF FF E6 03 F7 FF FF FF E6 03 F8 FF FE FF E6 03 F9 FF FE FF E7 03 "
    "F9 FF 00 00 E6 03 F9 FF FF FF E6 03 F7 FF FE FF E5 03 F9 FF FF FF E5 03 F9 FF FF FF E5 03 "
    "FA FF 00 00 E6 03 F9 FF FE FF E6 03 F8 FF FF FF E6 03 F8 FF FF FF E5 03 F9 FF FF FF E6 03 "
    "F9 FF FF FF E5 03 FA FF FF FF E6 03 F9 FF FF FF E5 03 F9 FF FF FF E5 03 F8 FF FE FF E6 03 "
    "F9 FF FF FF E6 03 F9 FF FF FF E6 03 F9 FF 00 00 E5 03 F9 FF FE FF E6 03 F8 FF FE FF E6 03 "
    "F7 FF FE FF E6 03"
)
POLAR_DELTA_TYPE0 = (
    "02 00 94 35 77 00 00 00 00 80 "
    "71 07 F0 6A 9E 8D 0A 38 BE 5C BE BA 2F 96 B3 EE 4B E5 AD FB 42 B9 EB BE 4C FE BA 2F 92 BF "
    "EE 4B E4 B1 FB 12 B9 EC BD 3C 3E BB 2F 8F D3 DE 4B E3 B5 F7 D2 B8 ED BD 30 7E 7B 2F 8B E3 "
    "CE 8B E2 BA F7 A2 B8 EE BC 20 BE 7B 2F 88 F3 CE CB E1 BD EF 52 F8 EF BC 18 FE 3B 2F 84 03 "
    "BF CB E0 C2 EF 32 B8 F0 BB 04 4E BC 2E 81 13 AF 0B E0 C6 EF F2 F7 F1 B9 FC 7D BC 2E 7D 27 "
    "9F 4B DF CA EB C2 F7 F2 B8 EC CD 7C 2E 7B 37 8F 4B DE CE E3 92 F7 F3 B8 E0 0D FD 2D 77 4B "
    "7F CB DD D2 DF 62 37 F5 B7 D4 4D BD 2D 74 5B 6F CB DC D7 D7 32 37 F6 B5 C8 8D 7D 2D 71 6B "
    "4F 4B DC DC D3 F2 36 F7 B4 BC DD FD 2C 6F 7B 3F 4B DB E0 CF D2 36 F8 B2 B0 2D BE 2C 6C 8F "
    "1F CB DA E3 C7 A2 76 F9"
)
POLAR_DELTA_TYPE1 = "02 65 00 00 00 00 00 00 00 81 F1 FF 14 00 F0 03 06 01 7B 0F 08"


def test_polar_raw_frame_type_1():
    f = P.decode_pmd_frame(h(POLAR_RAW_TYPE1))
    assert (f.timestamp_ns, f.compressed, f.frame_type) == (2_000_000_000, False, 1)
    assert f.samples.shape == ((len(h(POLAR_RAW_TYPE1)) - 10) // 6, 3) == (36, 3)
    np.testing.assert_array_equal(f.samples[:2], [[-9, -1, 999], [-8, -2, 997]])
    # The SDK's first-frame rule at 52 Hz: the last sample at the frame's time.
    times = P.PmdTimeline(52.0).sample_times_ns(f.timestamp_ns, f.samples.shape[0])
    assert times[-1] == 2_000_000_000
    np.testing.assert_allclose(np.diff(times), 1e9 / 52, atol=1)


def test_polar_delta_frame_type_0_with_factor():
    f = P.decode_pmd_frame(h(POLAR_DELTA_TYPE0))
    assert f.compressed and f.frame_type == 0 and f.samples.shape == (57, 3)
    np.testing.assert_array_equal(f.samples[0], [1905, 27376, -29282])
    np.testing.assert_array_equal(f.samples[1] - f.samples[0], [190, -105, -85])
    factor = struct.unpack("<f", struct.pack("<f", 2.44e-4))[0]  # a float32, as sent
    g = P.pmd_samples_to_g(f, factor)
    # The SDK's values: (factor * sample * 1000).toInt() in mG, within ±8 g.
    expected = (np.float32(factor) * f.samples[:2].astype(np.float32) * np.float32(1000)
                ).astype(np.int64)
    np.testing.assert_array_equal(np.trunc(g[:2] * 1000).astype(np.int64), expected)
    assert np.abs(g).max() <= 8.0
    # With a previous frame at 100 ns, the samples spread over (100, 2e9].
    timeline = P.PmdTimeline(52.0)
    timeline.sample_times_ns(100, 1)
    times = timeline.sample_times_ns(f.timestamp_ns, 57)
    assert times[0] == round(100 + (2_000_000_000 - 100) / 57) and times[-1] == 2_000_000_000


def test_polar_delta_frame_type_1():
    f = P.decode_pmd_frame(h(POLAR_DELTA_TYPE1))
    np.testing.assert_array_equal(f.samples, [[-15, 20, 1008], [-20, 17, 1008]])
    np.testing.assert_allclose(P.pmd_samples_to_g(f, 1.0), [[-0.015, 0.020, 1.008],
                                                           [-0.020, 0.017, 1.008]])
    timeline = P.PmdTimeline(52.0)
    timeline.sample_times_ns(100, 1)
    np.testing.assert_array_equal(timeline.sample_times_ns(f.timestamp_ns, 2), [100, 101])


# ---------------------------------------------------------------------------------------
# FTMS treadmill data from real machines

# CITYSPORTS-Linker walking pad (nRF Connect log): flags 0x2484 (bit 13 reserved), then
# speed, distance, energy (total, per hour, per minute), elapsed time and three bytes the
# layout does not define (the step count and a zero). nRF Connect shows the same values.
CITYSPORTS = [
    # (notification, km/h, m, kcal, s, trailing bytes)
    ("84-24-00-00-00-00-00-00-00-00-00-00-00-00-00-00-00", 0.0, 0, 0, 0, "00 00 00"),
    ("84-24-64-00-00-00-00-00-00-00-00-00-01-00-01-00-00", 1.0, 0, 0, 1, "01 00 00"),
    ("84-24-FA-00-01-00-00-00-00-00-00-00-03-00-02-00-00", 2.5, 1, 0, 3, "02 00 00"),
    ("84-24-2C-01-06-00-00-00-00-00-00-00-09-00-07-00-00", 3.0, 6, 0, 9, "07 00 00"),
    ("84-24-E6-00-31-00-00-02-00-00-00-00-40-00-5F-00-00", 2.3, 49, 2, 64, "5F 00 00"),
    ("84-24-F0-00-31-00-00-02-00-00-00-00-3F-00-5E-00-00", 2.4, 49, 2, 63, "5E 00 00"),
]


@pytest.mark.parametrize("hexed, kmh, metres, kcal, seconds, extra", CITYSPORTS)
def test_citysports_walking_pad(hexed, kmh, metres, kcal, seconds, extra):
    d = P.decode_treadmill(h(hexed))
    assert d.speed_kmh == pytest.approx(kmh) and d.speed_mps == pytest.approx(kmh / 3.6)
    assert (d.distance_m, d.energy_kcal, d.elapsed_s) == (metres, kcal, seconds)
    assert (d.energy_per_hour_kcal, d.energy_per_minute_kcal) == (0, 0)
    assert kinds(d.quirks) == ["ftms/reserved-flags", "ftms/trailing-bytes"]
    assert d.quirks[0] == "ftms/reserved-flags: 0x2000 ignored"
    assert d.quirks[1] == f"ftms/trailing-bytes: 3 bytes ({extra})"


def test_kingsmith_z1_walking_pad():
    # KS-HD-Z1D: flags 0x2484, 3.00 km/h, 150 m, 12 kcal, 120 s (WalkingPadSDK's capture).
    d = P.decode_treadmill(h("84 24 2C 01 96 00 00 0C 00 00 00 00 78 00"))
    assert (d.speed_kmh, d.distance_m, d.energy_kcal, d.elapsed_s) == (3.0, 150, 12, 120)
    assert kinds(d.quirks) == ["ftms/reserved-flags"]


def test_horizon_treadmill_at_rest():
    # qdomyos-zwift #175: a Horizon treadmill standing still, flags 0x0484, 14 bytes.
    d = P.decode_treadmill(h("84-04-00-00-00-00-00-00-00-00-00-00-00-00"))
    assert (d.speed_kmh, d.distance_m, d.energy_kcal, d.elapsed_s, d.quirks) == (
        0.0, 0, 0, 0, ())
