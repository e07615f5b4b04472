"""The service mails the one-time code to the credential owner itself (SIGN-2)."""

from __future__ import annotations

import smtplib
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

SUBJECT = "【電子契約サービス】電子署名用ワンタイムパスワードのお知らせ"


class MailError(Exception):
    pass


class OtpMailer:
    def __init__(self, host: str, port: int, sender: str, timeout: float) -> None:
        self.host = host
        self.port = port
        self.sender = sender
        self.timeout = timeout

    def send_otp(self, to: str, name: str, code: str, ttl: timedelta) -> None:
        msg = EmailMessage()
        msg["Subject"] = SUBJECT
        msg["From"] = self.sender
        msg["To"] = to
        msg["Date"] = formatdate(localtime=False)
        msg["Message-ID"] = make_msgid(domain="sign-ca.local")
        minutes = int(ttl.total_seconds() // 60)
        msg.set_content(
            f"{name} 様\n\n"
            "電子署名用のワンタイムパスワードをお知らせします。\n\n"
            f"ワンタイムパスワード: {code}\n\n"
            f"有効期限は発行から{minutes}分です。一度だけ使用できます。\n"
            "お心当たりのない場合は、このメールを破棄し、お取引店にご連絡ください。\n"
        )
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                smtp.send_message(msg)
        except (OSError, smtplib.SMTPException) as exc:
            raise MailError(str(exc)) from exc
