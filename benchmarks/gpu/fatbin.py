# Copied from the project's shared notes (../shared/gpu/fatbin.py) so that benchmarks/gpu/pack.sh needs nothing outside the repository.
# Zeroes the CUDA kernels of every GPU architecture but one (default sm_90, Hopper) in a shared library's .nv_fatbin,
# so the library compresses to a fraction of its size; the kept architecture's kernels are untouched.
# Usage: python3 fatbin.py LIB.so OUT.so [ARCH]   (prints the kernels per architecture; without OUT only lists them)
import struct, sys, collections
path, out = sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None
keep = int(sys.argv[3]) if len(sys.argv) > 3 else 90
data = bytearray(open(path, 'rb').read())
# ELF64 section headers
e_shoff, = struct.unpack_from('<Q', data, 0x28); e_shentsize, e_shnum, e_shstrndx = struct.unpack_from('<HHH', data, 0x3A)
def sh(i):
    o = e_shoff + i * e_shentsize
    name, typ, flags, addr, off, size = struct.unpack_from('<IIQQQQ', data, o)
    return name, off, size
_, stroff, _ = sh(e_shstrndx)
secs = {}
for i in range(e_shnum):
    n, off, size = sh(i)
    nm = data[stroff + n: data.index(b'\0', stroff + n)].decode()
    secs[nm] = (off, size)
off, size = secs['.nv_fatbin']
print('.nv_fatbin', off, size)
p, end = off, off + size
stats = collections.Counter(); zeroed = 0; kept = 0
while p < end:
    magic, ver, hsz, fsz = struct.unpack_from('<IHHQ', data, p)
    if magic != 0xBA55ED50:
        p += 8; continue
    q, qend = p + hsz, p + hsz + fsz
    while q < qend:
        kind, _, ehsz, esize = struct.unpack_from('<HHIQ', data, q)
        arch, = struct.unpack_from('<I', data, q + 28)
        stats[(kind, arch)] += esize
        if arch != keep:
            data[q + ehsz: q + ehsz + esize] = bytes(esize); zeroed += esize
        else:
            kept += esize
        q += ehsz + esize
    p = qend
for k, v in sorted(stats.items()): print('kind', k[0], 'arch', k[1], f'{v/1e6:.1f} MB')
print(f'zeroed {zeroed/1e6:.1f} MB, kept {kept/1e6:.1f} MB')
if out: open(out, 'wb').write(data)
