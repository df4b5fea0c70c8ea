#!/usr/bin/env python3
"""Tokens and JWKS for jwt.sh, minted by an independent implementation: PyJWT (python3-jwt)
with python3-cryptography. gw-proxy's own JOSE code never signs anything here.

  jwt_peer.py keys DIR
      One key per algorithm (RSA 2048 for RS*/PS*, P-256/384/521, Ed25519, HMAC secrets) and
      an extra RS256 key "rot2"/"rot3" for rotation; private keys in DIR/keys.json.
  jwt_peer.py jwks DIR OUT KID...
      Writes the public JWK Set of those kids to OUT (atomically: a temporary file renamed).
  jwt_peer.py octs DIR
      Prints the JWK Set of the HMAC secrets (for the config's local_jwks "inline").
  jwt_peer.py mint DIR KID [CLAIMS_JSON] [--no-kid] [--alg ALG]
      Prints a token signed by KID's key (default claims: iss https://issuer.test, aud api,
      sub alice, exp now+300; CLAIMS_JSON is merged in, a null value removes a claim).
  jwt_peer.py none [CLAIMS_JSON]           an unsecured token (alg "none")
  jwt_peer.py confuse DIR KID              HS256 signed with KID's RSA public key PEM as the secret
  jwt_peer.py serve FILE                   HTTP on 127.0.0.1 (port chosen by the kernel) serving
      FILE at /jwks (re-read at every request; 503 when missing); prints {"port":N,"pid":P}.
"""
import base64
import hashlib
import hmac
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

ASYM = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]
CURVES = {"ES256": ec.SECP256R1, "ES384": ec.SECP384R1, "ES512": ec.SECP521R1}


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def load(d):
    with open(os.path.join(d, "keys.json")) as f:
        return json.load(f)


def private_key(entry):
    return serialization.load_pem_private_key(entry["pem"].encode(), None)


def public_jwk(kid, entry):
    alg = entry["alg"]
    pub = private_key(entry).public_key()
    if alg.startswith(("RS", "PS")):
        j = json.loads(RSAAlgorithm.to_jwk(pub))
    elif alg.startswith("ES"):
        j = json.loads(ECAlgorithm.to_jwk(pub))
    else:
        j = json.loads(OKPAlgorithm.to_jwk(pub))
    j.update({"kid": kid, "alg": alg, "use": "sig"})
    return j


def cmd_keys(d):
    keys = {}
    pem = lambda k: k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()).decode()
    for alg in ASYM + ["rot2", "rot3"]:
        kid = alg if alg.startswith("rot") else "k-" + alg
        real = "RS256" if alg.startswith("rot") else alg
        if real.startswith(("RS", "PS")):
            k = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        elif real.startswith("ES"):
            k = ec.generate_private_key(CURVES[real]())
        else:
            k = ed25519.Ed25519PrivateKey.generate()
        keys[kid] = {"alg": real, "pem": pem(k)}
    for alg, n in (("HS256", 32), ("HS384", 48), ("HS512", 64)):
        keys["k-" + alg] = {"alg": alg, "secret": b64(os.urandom(n))}
    with open(os.path.join(d, "keys.json"), "w") as f:
        json.dump(keys, f)


def cmd_jwks(d, out, kids):
    keys = load(d)
    doc = {"keys": [public_jwk(k, keys[k]) for k in kids]}
    with open(out + ".tmp", "w") as f:
        json.dump(doc, f)
    os.replace(out + ".tmp", out)


def cmd_octs(d):
    keys = load(d)
    octs = [{"kty": "oct", "kid": k, "alg": e["alg"], "k": e["secret"]} for k, e in keys.items() if "secret" in e]
    print(json.dumps({"keys": octs}))


def claims(extra):
    c = {"iss": "https://issuer.test", "aud": "api", "sub": "alice", "exp": int(time.time()) + 300}
    for k, v in (json.loads(extra) if extra else {}).items():
        if v is None:
            c.pop(k, None)
        else:
            c[k] = v
    return c


def cmd_mint(d, kid, extra, no_kid, alg):
    keys = load(d)
    e = keys[kid]
    alg = alg or e["alg"]
    headers = {} if no_kid else {"kid": kid}
    if "secret" in e:
        key = base64.urlsafe_b64decode(e["secret"] + "=" * (-len(e["secret"]) % 4))
    else:
        key = private_key(e)
    print(jwt.encode(claims(extra), key, algorithm=alg, headers=headers))


def cmd_none(extra):
    print(jwt.encode(claims(extra), None, algorithm="none"))


def cmd_confuse(d, kid):
    # PyJWT refuses a PEM as an HMAC secret (its own guard against this attack), so the HMAC is
    # computed here with the standard library: exactly what an attacker would send.
    e = load(d)[kid]
    pem = private_key(e).public_key().public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo)
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
    body = b64(json.dumps(claims(None)).encode())
    sig = hmac.new(pem, (head + "." + body).encode(), hashlib.sha256).digest()
    print(head + "." + body + "." + b64(sig))


def cmd_serve(path):
    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            try:
                with open(path, "rb") as f:
                    body, status = f.read(), 200
            except OSError:
                body, status = b"gone\n", 503
            if self.path != "/jwks":
                body, status = b"not found\n", 404
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    print(json.dumps({"port": srv.server_address[1], "pid": os.getpid()}), flush=True)
    srv.serve_forever()


def main(a):
    if a[0] == "keys":
        cmd_keys(a[1])
    elif a[0] == "jwks":
        cmd_jwks(a[1], a[2], a[3:])
    elif a[0] == "octs":
        cmd_octs(a[1])
    elif a[0] == "mint":
        rest = a[3:]
        no_kid = "--no-kid" in rest
        alg = rest[rest.index("--alg") + 1] if "--alg" in rest else None
        extra = rest[0] if rest and not rest[0].startswith("--") else None
        cmd_mint(a[1], a[2], extra, no_kid, alg)
    elif a[0] == "none":
        cmd_none(a[1] if len(a) > 1 else None)
    elif a[0] == "confuse":
        cmd_confuse(a[1], a[2])
    elif a[0] == "serve":
        cmd_serve(a[1])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
