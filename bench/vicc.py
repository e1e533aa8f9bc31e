# The peer for bench/simulator: vsmartcard's ISO 7816 card (Debian python3-virtualsmartcard),
# driven in-process through its card object's execute(), as cardsmith's card is driven through
# process(). It serves timing rounds so that the bench can interleave them with its own:
#   stdin  "<command hex> <count>"            one round: <count> execute() calls of that command
#   stdout "<ns per call> <last response hex>"
# The card gets the EF the bench reads: EF01 under the MF, SFI 1, the same 12 bytes.
import logging
import sys
import time

# Debian installs the package under site-packages/virtualsmartcard/ (outside sys.path) and
# ships pycryptodome as Cryptodome; the library imports it as Crypto.
sys.path.insert(0, '/usr/lib/python3/site-packages/virtualsmartcard')
try:
    import Crypto  # noqa: F401
except ImportError:
    import Cryptodome
    import Cryptodome.Cipher
    import Cryptodome.Hash
    sys.modules['Crypto'] = Cryptodome
    sys.modules['Crypto.Cipher'] = Cryptodome.Cipher
    sys.modules['Crypto.Hash'] = Cryptodome.Hash

logging.disable(logging.CRITICAL)  # the generator warns about its default PIN on every start
from virtualsmartcard.CardGenerator import CardGenerator  # noqa: E402
from virtualsmartcard.SmartcardFilesystem import TransparentStructureEF  # noqa: E402
from virtualsmartcard.VirtualSmartcard import Iso7816OS  # noqa: E402

mf, sam = CardGenerator('iso7816').getCard()
card = Iso7816OS(mf, sam)
mf.append(TransparentStructureEF(parent=mf, fid=0xEF01, shortfid=1, data=bytes.fromhex(sys.argv[1])))
print('ready', flush=True)

for line in sys.stdin:
    command_hex, count = line.split()
    command = bytes.fromhex(command_hex)
    n = int(count)
    execute = card.execute
    t0 = time.perf_counter_ns()
    for _ in range(n):
        response = execute(command)
    ns = (time.perf_counter_ns() - t0) / n
    print(f'{ns:.1f} {response.hex()}', flush=True)
