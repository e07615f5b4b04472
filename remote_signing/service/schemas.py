"""Request shapes of the service's JSON API (shape and format only)."""

from __future__ import annotations

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates

from ..protocol import HASH_OIDS

_ID = fields.String(required=True, validate=validate.Length(min=1, max=64))
_SECRET = fields.String(required=True, validate=validate.Length(min=1, max=64))


class _Base(Schema):
    class Meta:
        unknown = RAISE


class ListSchema(_Base):
    userID = fields.String(load_default=None, validate=validate.Length(min=1, max=64))
    maxResults = fields.Integer(load_default=None)


class CredentialSchema(_Base):
    credentialID = _ID
    certificates = fields.String(load_default="chain")
    certInfo = fields.Boolean(load_default=True)
    authInfo = fields.Boolean(load_default=True)


class SendOtpSchema(_Base):
    credentialID = _ID
    PIN = fields.String(load_default=None, validate=validate.Length(min=1, max=64))
    clientData = fields.String(load_default=None)


class _HashesSchema(_Base):
    credentialID = _ID
    hashes = fields.List(
        fields.String(validate=validate.Length(min=1, max=200)),
        required=True,
        validate=validate.Length(min=1),
    )
    hashAlgorithmOID = fields.String(load_default="2.16.840.1.101.3.4.2.1")

    @validates("hashAlgorithmOID")
    def _known_hash(self, value: str, **_: object) -> None:
        if value not in HASH_OIDS:
            raise ValidationError("unsupported hash algorithm")


class AuthorizeSchema(_HashesSchema):
    numSignatures = fields.Integer(required=True, validate=validate.Range(min=1))
    PIN = fields.String(load_default=None, validate=validate.Length(min=1, max=64))
    OTP = fields.String(load_default=None, validate=validate.Length(min=1, max=16))
    pinToken = fields.String(load_default=None, validate=validate.Length(min=1, max=100))
    description = fields.String(load_default=None, validate=validate.Length(max=500))
    clientData = fields.String(load_default=None)


class AuthorizeSignHashSchema(AuthorizeSchema):
    signAlgo = fields.String(required=True, validate=validate.Length(min=1, max=64))


class SignHashSchema(_HashesSchema):
    SAD = fields.String(required=True, validate=validate.Length(min=1, max=200))
    signAlgo = fields.String(required=True, validate=validate.Length(min=1, max=64))
    clientData = fields.String(load_default=None)


class CreateSchema(_Base):
    userID = _ID
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    email = fields.Email(required=True)
    organization = fields.String(required=True, validate=validate.Length(min=1, max=100))
    PIN = _SECRET
    issue = fields.Boolean(load_default=True)


class ChangePinSchema(_Base):
    credentialID = _ID
    oldPIN = _SECRET
    newPIN = _SECRET


class AdminSchema(_Base):
    credentialID = _ID
    reason = fields.String(load_default=None, validate=validate.Length(max=64))


class UpdateSchema(_Base):
    credentialID = _ID
    email = fields.Email(required=True)
