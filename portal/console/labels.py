"""日本語 labels for the operation log (AUD-2, #13 item 9): what each action
code and target type means to an auditor. Plain Japanese here; English in
``translations/en/console_admin.po``. An unknown code falls back to the
label of its family (``kyc.…`` → 本人確認書類) and then to the code itself,
so a new action never breaks the page."""

from __future__ import annotations

ACTIONS: dict[str, str] = {
    # login and passwords (AUTH)
    "login.success": "ログイン成功",
    "login.failure": "ログイン失敗（パスワード誤り）",
    "login.failure_unknown": "ログイン失敗（未登録のID）",
    "login.refused_locked": "ログイン拒否（ロック中）",
    "login.refused_terminated": "ログイン拒否（解約済み）",
    "login.refused_temp_expired": "ログイン拒否（仮パスワード期限切れ）",
    "login.throttled": "ログイン制限（試行回数超過）",
    "logout": "ログアウト",
    "account.locked": "アカウントロック",
    "password.changed": "ログインパスワード変更",
    "password.change_failed": "ログインパスワード変更失敗",
    "password.first_changed": "初回ログイン時のパスワード変更",
    "password.first_change_failed": "初回ログイン時のパスワード変更失敗",
    "password.first_change_expired": "初回ログインの期限切れ",
    "password.reset": "パスワード再設定",
    "password_reset.requested": "パスワード再設定の申請",
    "password_reset.requested_unknown": "パスワード再設定の申請（未登録）",
    "password_reset.code_resent": "パスワード再設定コードの再送信",
    "temp_password.reissued": "仮パスワード再発行",
    "verification.code_rejected": "認証コード誤り",
    "ratelimit.refused": "回数制限による拒否",
    "ratelimit.locked": "回数制限によるロック",
    # application and onboarding (APP)
    "invitation.created": "利用登録のご案内（招待）作成",
    "application.code_sent": "申込み認証コード送信",
    "application.code_resent": "申込み認証コード再送信",
    "application.submitted": "MyPage利用申込",
    "application.viewed": "MyPage利用申込の閲覧",
    "application.approved": "MyPage利用申込の承認",
    "application.rejected": "MyPage利用申込の否認",
    "company.created": "お客さま登録",
    "company.updated": "企業情報変更",
    "company.bank_fields_updated": "お取引情報（預金口座取引店・債務者）変更",
    "email.changed": "メールアドレス変更",
    "email_change.requested": "メールアドレス変更の申請",
    "email_change.code_resent": "メールアドレス変更コードの再送信",
    "email_change.cancelled": "メールアドレス変更の取消",
    # users and powers of attorney (USR)
    "user.created": "ユーザ新規登録",
    "user.updated": "ユーザ情報変更",
    "user.deleted": "ユーザ削除",
    "user.role_change_refused": "権限変更の拒否",
    "poa.authenticated": "委任状署名の認証",
    "poa.signed": "委任状への電子署名",
    "poa.signing_code_sent": "委任状署名の認証コード送信",
    "poa.signing_failed": "委任状への電子署名失敗",
    "poa.stored": "委任状の保存",
    "poa.uploaded": "委任状のアップロード",
    "poa.upload_refused": "委任状のアップロード拒否",
    "poa.upload_quarantined": "委任状のウイルススキャン待ち",
    "cert_request.created": "電子証明書発行依頼",
    "cert_request.issued": "電子証明書発行依頼の完了",
    "cert_request.cancelled": "電子証明書発行依頼の取消",
    # KYC
    "kyc.consent.agreed": "本人確認書類：同意",
    "kyc.consent.declined": "本人確認書類：不同意",
    "kyc.document_type.chosen": "本人確認書類：書類の種類選択",
    "kyc.file.stored": "本人確認書類：ファイル保存",
    "kyc.file.deleted": "本人確認書類：ファイル削除",
    "kyc.file.refused": "本人確認書類：ファイル拒否",
    "kyc.file.infected": "本人確認書類：ウイルス検知",
    "kyc.file.quarantined": "本人確認書類：スキャン待ち",
    "kyc.file.released": "本人確認書類：スキャン完了",
    "kyc.submission.submitted": "本人確認書類の送信",
    "kyc.submission.approved": "本人確認書類の承認",
    "kyc.submission.rejected": "本人確認書類の差戻し",
    # signing PIN and certificates (PIN, CERT)
    "certs.pin_registered": "初期PIN登録",
    "certs.pin_changed": "署名用PIN変更",
    "certs.pin_locked": "署名用PINロック",
    "certs.pin_unlocked": "署名用PINロック解除",
    "certs.pin_locked_by_failures": "署名用PINロック（入力誤り）",
    "certs.active": "電子証明書発行",
    "certs.revoked": "電子証明書失効",
    "certs.expiry_notice": "電子証明書の有効期限のお知らせ",
    "certs.sign_code_sent": "署名の認証コード送信",
    "certs.sign_pin_refused": "署名用PIN誤り",
    "certs.demo_issued": "電子証明書発行（デモ）",
    "certificate.revoked_by_change": "電子証明書失効（登録情報変更）",
    "certificate.superseded": "電子証明書の更新",
    # contracts (CON, SIGN)
    "contract.package.created": "契約案件の作成",
    "contract.package.edited": "契約案件の変更",
    "contract.package.sent": "契約案件の送付",
    "contract.package.state": "契約案件の状態変更",
    "contract.party.state": "契約当事者の状態変更",
    "contract.confirmed": "契約内容の確認",
    "contract.signed": "契約書への電子署名",
    "contract.sign.refused": "電子署名の拒否",
    "contract.sign.authenticated": "電子署名の認証（認証コード照合）",
    "contract.bank_sealed": "銀行の電子署名（締結）",
    "contract.conclude.password_refused": "締結時のパスワード誤り",
    "contract.conclude.refused_locked": "締結の拒否（ロック中）",
    "contract.document.viewed": "契約書の閲覧",
    "contract.document.downloaded": "契約書のダウンロード",
    "contract.report.downloaded": "検証レポートのダウンロード",
    "contract.evidence.issued": "締結証明書の作成",
    "contract.evidence.deferred": "締結証明書の作成保留",
    "contract.evidence.downloaded": "締結証明書のダウンロード",
    "contract.archive.downloaded": "契約書の一括ダウンロード",
    "contract.document.renamed": "契約書類名の変更",
    "contract.file.infected": "契約書ファイルのウイルス検知",
    "contract.longterm.run": "長期検証の実行",
    "contract.longterm.renewed": "長期検証：タイムスタンプ更新",
    "contract.longterm.renewal_failed": "長期検証：タイムスタンプ更新失敗",
    "contract.longterm.mismatch": "長期検証：検証失敗",
    "contract.longterm.alert_acknowledged": "長期検証アラートの確認",
    # bank console (ADM, AUD, AUTH-8)
    "audit.exported": "操作ログのCSV出力",
    "maintenance.scheduled": "臨時メンテナンスの登録",
    "maintenance.updated": "臨時メンテナンスの変更",
    "maintenance.cancelled": "臨時メンテナンスの取消",
    "branch.created": "支店の登録",
    "branch.renamed": "支店名の変更",
    "staff.created": "担当者の登録",
    "staff.updated": "担当者情報の変更",
    "staff.disabled": "担当者の利用停止",
    "staff.enabled": "担当者の利用再開",
    "staff.password_reset": "担当者の仮パスワード再発行",
    "system_notice.created": "お知らせの登録",
    "system_notice.updated": "お知らせの変更",
    "system_notice.deleted": "お知らせの削除",
    "demo.seeded": "デモデータ作成",
    # retention (CON-10, CON-11)
    "retention.hold_placed": "リーガルホールドの設定",
    "retention.hold_lifted": "リーガルホールドの解除",
    "retention.customer_terminated": "利用終了（解約）",
    "retention.notice_sent": "削除予定のお知らせ送信",
    "retention.package_deleted": "契約案件の削除（保存期間満了）",
    "retention.application_deleted": "MyPage利用申込の削除（保存期間満了）",
    "retention.personal_data_deleted": "個人情報の削除（保存期間満了）",
}

# Families for codes not listed above (longest prefix wins).
FAMILIES: dict[str, str] = {
    "login.": "ログイン",
    "password": "パスワード",
    "application.": "MyPage利用申込",
    "company.": "お客さま",
    "user.": "ユーザ",
    "poa.": "委任状",
    "cert_request.": "電子証明書発行依頼",
    "certs.": "電子証明書・署名用PIN",
    "certificate.": "電子証明書",
    "kyc.": "本人確認書類",
    "contract.": "契約",
    "retention.": "保存期間・削除",
    "maintenance.": "メンテナンス",
    "staff.": "担当者",
    "branch.": "支店",
    "system_notice.": "お知らせ",
}

TARGETS: dict[str, str] = {
    "Application": "MyPage利用申込",
    "Branch": "支店",
    "CertificateRequest": "電子証明書発行依頼",
    "Company": "お客さま",
    "CompanyTermination": "利用終了（解約）",
    "ContractDocument": "契約書",
    "ContractPackage": "契約案件",
    "ContractParty": "契約当事者",
    "ContractSignature": "電子署名",
    "CustomerUser": "ユーザ",
    "EmailVerification": "認証コード",
    "Invitation": "利用登録のご案内",
    "KycConsent": "本人確認書類の提出への同意",
    "KycFile": "本人確認書類ファイル",
    "KycQuarantine": "スキャン待ちファイル",
    "KycSubmission": "本人確認書類",
    "LegalHold": "リーガルホールド",
    "LongtermAlert": "長期検証アラート",
    "MaintenanceWindow": "臨時メンテナンス",
    "PowerOfAttorney": "委任状",
    "SigningCertificate": "電子証明書",
    "SigningEvidence": "締結証明書",
    "StaffUser": "担当者",
    "SystemNotice": "お知らせ",
    "UserDraft": "ユーザ登録・証明書発行依頼の下書き",
    "Tombstone": "削除記録",
}

ACTOR_TYPES = {"customer": "お客さま", "staff": "銀行担当者", "system": "システム"}


def action_label(code: str) -> str:
    if code in ACTIONS:
        return ACTIONS[code]
    for prefix in sorted(FAMILIES, key=len, reverse=True):
        if code.startswith(prefix):
            return FAMILIES[prefix]
    return code


def target_label(kind: str) -> str:
    return TARGETS.get(kind, kind)


def actor_type_label(kind: str) -> str:
    return ACTOR_TYPES.get(kind, kind)
