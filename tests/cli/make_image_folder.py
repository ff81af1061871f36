"""Writes a CIFAR-shaped ImageFolder archive of PNGs (stdlib only) for the CLI tests.

make_image_folder.py OUT.tar.gz [TRAIN_PER_CLASS TEST_PER_CLASS [SIZE]]: 10 classes named as
CIFAR-10's under cifar10/{train,test}/<class>/NNNN.png, RGB, SIZE x SIZE (default 32), each
class a different mean colour so a network can learn something.
"""
import io
import random
import struct
import sys
import tarfile
import zlib


def png(w, h, rgb):
    raw = b"".join(b"\0" + bytes(rgb[y * w * 3:(y + 1) * w * 3]) for y in range(h))

    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def main():
    out = sys.argv[1]
    train = int(sys.argv[2]) if len(sys.argv) > 2 else 24
    test = int(sys.argv[3]) if len(sys.argv) > 3 else 4
    size = int(sys.argv[4]) if len(sys.argv) > 4 else 32
    rng = random.Random(1)
    classes = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
               "truck"]
    with tarfile.open(out, "w:gz") as tar:
        for split, n in (("train", train), ("test", test)):
            for k, c in enumerate(classes):
                for i in range(n):
                    pixels = [min(255, max(0, 25 * k + rng.randrange(-20, 20)))
                              for _ in range(size * size * 3)]
                    data = png(size, size, pixels)
                    info = tarfile.TarInfo(f"cifar10/{split}/{c}/{i:04d}.png")
                    info.size = len(data)
                    tar.addfile(info, io.BytesIO(data))


main()
