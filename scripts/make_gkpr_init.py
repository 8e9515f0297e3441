"""Write examples/configs/gkpr_theta0.npy: the initial angles of Geshkovski-Koubbi-Polyanskiy-
Rigollet (n = 5 on the circle), theta0 = 0.5 * [0, 0.5, 2, 4, 7] * log(b) / sqrt(b) with b = 2000
(their code computes it once with b = 2000 and reuses it for every beta), as unit vectors
(cos, sin) in a 5 x 2 float64 .npy (no numpy needed)."""
import math
import struct
import sys

b = 2000.0
theta = [0.5 * c * math.log(b) / math.sqrt(b) for c in (0.0, 0.5, 2.0, 4.0, 7.0)]
rows = [(math.cos(t), math.sin(t)) for t in theta]
header = "{'descr': '<f8', 'fortran_order': False, 'shape': (5, 2), }"
pad = 64 - (10 + len(header) + 1) % 64
header = header + " " * pad + "\n"
out = sys.argv[1] if len(sys.argv) > 1 else "examples/configs/gkpr_theta0.npy"
with open(out, "wb") as f:
    f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode("latin1"))
    for r in rows:
        f.write(struct.pack("<2d", *r))
print(out, theta)
