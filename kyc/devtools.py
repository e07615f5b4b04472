"""A private clamd process for tests, the benchmark and local runs.

Not used by the application itself: the portal only talks to a configured
clamd (``CLAMD_HOST``/``CLAMD_PORT``). Fails loudly when clamd cannot start.
"""

from __future__ import annotations

import shutil
import socket
import struct
import subprocess
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIGNATURES = ROOT / "scripts" / "clamav" / "portal-test.ndb"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def clamd_binary() -> str:
    found = shutil.which("clamd") or "/usr/sbin/clamd"
    if not Path(found).exists():
        raise RuntimeError("clamd is not installed (apt-get install clamav-daemon)")
    return found


def ping(port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(b"zPING\0")
            return s.recv(16).startswith(b"PONG")
    except OSError:
        return False


class ClamdProcess:
    def __init__(self, workdir: Path, *, stream_max_bytes: int = 10 * 1024 * 1024,
                 port: int | None = None) -> None:
        self.workdir = Path(workdir)
        self.port = port or free_port()
        self.stream_max_bytes = stream_max_bytes
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def log_path(self) -> Path:
        return self.workdir / "clamd.log"

    def _write_config(self) -> Path:
        db_dir = self.workdir / "db"
        db_dir.mkdir(parents=True, exist_ok=True)
        shutil.copy(SIGNATURES, db_dir / SIGNATURES.name)
        conf = self.workdir / "clamd.conf"
        conf.write_text(
            "Foreground yes\n"
            f"TCPSocket {self.port}\n"
            "TCPAddr 127.0.0.1\n"
            f"DatabaseDirectory {db_dir}\n"
            f"LogFile {self.log_path}\n"
            f"StreamMaxLength {self.stream_max_bytes}\n"
            "AlertExceedsMax yes\n",
            encoding="utf-8",
        )
        return conf

    def start(self, timeout: float = 30.0) -> ClamdProcess:
        conf = self._write_config()
        self.process = subprocess.Popen(
            [clamd_binary(), f"--config-file={conf}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                stderr = self.process.stderr
                err = stderr.read().decode(errors="replace") if stderr else ""
                raise RuntimeError(f"clamd exited at start: {err}\n{self._log_tail()}")
            if ping(self.port):
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"clamd did not answer PING on port {self.port}\n{self._log_tail()}")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        if self.process.stderr:
            self.process.stderr.close()
        self.process = None

    def _log_tail(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")[-2000:]
        except OSError:
            return "(no clamd log)"


class SilentListener:
    """Accepts TCP connections and never answers (like clamd with a full queue).

    With ``close_after`` it reads that many bytes and then resets the
    connection, like a daemon dying in the middle of a stream.
    """

    def __init__(self, close_after: int | None = None) -> None:
        self.port = free_port()
        self.close_after = close_after
        self.connections = 0
        self._held: list[socket.socket] = []
        self._server = socket.socket()
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind(("127.0.0.1", self.port))
        self._server.listen(16)
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        self._server.settimeout(0.1)
        while not self._stopped.is_set():
            try:
                conn, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            if self.close_after is not None:
                conn.recv(self.close_after)
                # linger 0: close with a reset, as a killed daemon would
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                conn.close()
            else:
                self._held.append(conn)

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=2)
        self._server.close()
        for conn in self._held:
            conn.close()


# --- sample files (tests and the benchmark generate them; none are shipped) ---------

EICAR = (b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*")

_DOCX_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" '
    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.wordprocessingml.document.main+xml"/></Types>'
)
_DOCX_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="word/document.xml"/></Relationships>'
)
_DOCX_BODY = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
    '<w:body><w:p><w:r><w:t>在籍証明書</w:t></w:r></w:p></w:body></w:document>'
)
_XLSX_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" '
    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.worksheet+xml"/></Types>'
)
_XLSX_RELS = _DOCX_RELS.replace("word/document.xml", "xl/workbook.xml")
_XLSX_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_XLSX_WB_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
)
_XLSX_SHEET = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>在籍</t></is></c></row></sheetData>'
    '</worksheet>'
)


def _zip(parts: dict[str, bytes | str]) -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in parts.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def sample_docx(extra: dict[str, bytes | str] | None = None) -> bytes:
    return _zip({"[Content_Types].xml": _DOCX_TYPES, "_rels/.rels": _DOCX_RELS,
                 "word/document.xml": _DOCX_BODY, **(extra or {})})


def sample_xlsx() -> bytes:
    return _zip({"[Content_Types].xml": _XLSX_TYPES, "_rels/.rels": _XLSX_RELS,
                 "xl/workbook.xml": _XLSX_WORKBOOK, "xl/_rels/workbook.xml.rels": _XLSX_WB_RELS,
                 "xl/worksheets/sheet1.xml": _XLSX_SHEET})


def sample_pdf(text: str = "Driver's licence (sample)") -> bytes:
    import io

    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer)
    pdf.drawString(72, 720, text)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def sample_image(fmt: str, size: tuple[int, int] = (64, 40)) -> bytes:
    """fmt: JPEG, PNG, GIF, BMP or TIFF (Pillow names)."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 120, 40)).save(buffer, format=fmt)
    return buffer.getvalue()


def large_pdf(target_bytes: int, seed: int = 7) -> bytes:
    """A real PDF of about ``target_bytes`` (incompressible noise image)."""
    import io
    import math
    import random

    from PIL import Image
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    # reportlab writes image data ASCII85-encoded (5 bytes per 4), hence 3.75
    side = int(math.sqrt(max(target_bytes - 8192, 4) / 3.75))
    noise = random.Random(seed).randbytes(side * side * 3)
    image = Image.frombytes("RGB", (side, side), noise)
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer)
    pdf.drawImage(ImageReader(image), 36, 36, width=520, height=520)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()
