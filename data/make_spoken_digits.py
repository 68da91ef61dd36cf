"""Synthesize the small spoken-digit corpus used by chapters/rnn_speech.ipynb.

Run from the repository root (needs Debian's ``espeak-ng``; this is *not* done when the book is built):

    apt-get install -y espeak-ng
    .venv/bin/python data/make_spoken_digits.py            # writes data/spoken_digits.npz

Every clip is one English digit word ("zero" ... "nine") spoken by espeak-ng with one "speaker": a
combination of an English accent (voice) and one of 12 voice variants (eSpeak NG's male and female variants,
``klatt``, which switches to its Klatt formant synthesiser, and ``croak``), at a random speaking rate and pitch
drawn from a seeded NumPy Generator. The 22.05 kHz output is resampled to 8 kHz, trimmed of
leading and trailing silence, scaled to a random peak level, mixed with white noise at a random
signal-to-noise ratio, and stored as 8-bit mu-law. Clips have different lengths: they are stored
back to back in ``audio`` with ``offsets`` and ``lengths``.

The arrays contain numbers and fixed-width strings only, so ``np.load(path, allow_pickle=False)``
reads them. Re-running the script with the same versions of espeak-ng (recorded in ``espeak_version``),
NumPy (its random streams) and SciPy (its resampling) reproduces every array exactly; other versions may
change individual samples.
"""

from __future__ import annotations

import io
import subprocess
import wave
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly

SEED = 20240607
SAMPLE_RATE = 8000
WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
ACCENTS = ["en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan", "en-gb-x-gbcwmd",
           "en-029", "en-us-nyc"]
VARIANTS = ["m1", "m2", "m3", "m4", "m5", "m7", "f1", "f2", "f3", "f4", "klatt", "croak"]
ACCENTS_PER_VARIANT = 3
RATE_WPM = (120, 220)   # espeak-ng -s: words per minute
PITCH = (25, 75)        # espeak-ng -p: 0..99
SNR_DB = (15.0, 35.0)   # white noise level relative to the speech
PEAK = (0.3, 0.9)       # peak amplitude of the clean clip
MARGIN = 0.05           # seconds of (noisy) silence kept before and after the word
OUT = Path(__file__).with_name("spoken_digits.npz")


def espeak_version() -> str:
    """E.g. "eSpeak NG text-to-speech: 1.51" (the data path that follows is dropped)."""
    out = subprocess.run(["espeak-ng", "--version"], capture_output=True, text=True, check=True).stdout
    return out.split("Data at")[0].strip()


def synthesize(word: str, voice: str, rate: int, pitch: int) -> np.ndarray:
    """One utterance as float64 samples in [-1, 1] at 8 kHz."""
    wav = subprocess.run(["espeak-ng", "-v", voice, "-s", str(rate), "-p", str(pitch), "--stdout", word],
                         capture_output=True, check=True).stdout
    with wave.open(io.BytesIO(wav)) as w:
        rate_in = w.getframerate()
        x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64) / 32768.0
    assert rate_in == 22050, rate_in
    return resample_poly(x, 160, 441)  # 22050 * 160 / 441 = 8000


def trim(x: np.ndarray, threshold: float = 0.02) -> np.ndarray:
    """Cut leading/trailing samples quieter than threshold × peak, keeping MARGIN seconds each side."""
    loud = np.flatnonzero(np.abs(x) > threshold * np.abs(x).max())
    pad = int(MARGIN * SAMPLE_RATE)
    word = x[loud[0]: loud[-1] + 1]
    before = x[max(loud[0] - pad, 0): loud[0]]
    after = x[loud[-1] + 1: loud[-1] + 1 + pad]
    return np.concatenate([np.zeros(pad - len(before)), before, word, after, np.zeros(pad - len(after))])


def mulaw_encode(x: np.ndarray, mu: int = 255) -> np.ndarray:
    """x in [-1, 1] -> uint8 codes (ITU-T G.711 style companding, continuous formula)."""
    y = np.sign(x) * np.log1p(mu * np.abs(np.clip(x, -1, 1))) / np.log1p(mu)
    return np.round((y + 1) / 2 * mu).astype(np.uint8)


def main() -> None:
    rng = np.random.default_rng(SEED)
    speakers = []  # (accent, variant)
    for variant in VARIANTS:
        for accent in rng.choice(ACCENTS, size=ACCENTS_PER_VARIANT, replace=False):
            speakers.append((str(accent), variant))

    clips, labels, speaker_ids, rates, pitches, snrs = [], [], [], [], [], []
    for s, (accent, variant) in enumerate(speakers):
        for digit, word in enumerate(WORDS):
            rate = int(rng.integers(*RATE_WPM, endpoint=True))
            pitch = int(rng.integers(*PITCH, endpoint=True))
            x = trim(synthesize(word, f"{accent}+{variant}", rate, pitch))
            x *= rng.uniform(*PEAK) / np.abs(x).max()
            snr = float(rng.uniform(*SNR_DB))
            noise_std = np.sqrt(np.mean(x**2) / 10 ** (snr / 10))
            x = x + noise_std * rng.standard_normal(len(x))
            clips.append(mulaw_encode(x))
            labels.append(digit)
            speaker_ids.append(s)
            rates.append(rate)
            pitches.append(pitch)
            snrs.append(snr)

    lengths = np.array([len(c) for c in clips], dtype=np.int32)
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    np.savez_compressed(
        OUT,
        audio=np.concatenate(clips),
        offsets=offsets,
        lengths=lengths,
        label=np.array(labels, dtype=np.int8),
        speaker=np.array(speaker_ids, dtype=np.int16),
        speaker_accent=np.array([a for a, _ in speakers]),
        speaker_variant=np.array([v for _, v in speakers]),
        rate_wpm=np.array(rates, dtype=np.int16),
        pitch=np.array(pitches, dtype=np.int16),
        snr_db=np.array(snrs, dtype=np.float32),
        words=np.array(WORDS),
        sample_rate=np.int32(SAMPLE_RATE),
        encoding=np.array("mu-law, mu=255, uint8 code k -> y = 2k/255 - 1, x = sign(y)((1+mu)^|y| - 1)/mu"),
        espeak_version=np.array(espeak_version()),
        seed=np.int64(SEED),
        command=np.array(".venv/bin/python data/make_spoken_digits.py"),
        licence=np.array("CC0-1.0 (generated by this project with espeak-ng; see data/README.md)"),
    )
    print(f"wrote {OUT}: {len(clips)} clips, {len(speakers)} speakers, "
          f"{lengths.sum() / SAMPLE_RATE:.1f} s of audio, {OUT.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
