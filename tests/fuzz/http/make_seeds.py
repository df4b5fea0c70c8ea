#!/usr/bin/env python3
"""Writes the seed corpora of the HTTP fuzz targets (run from tests/fuzz/). The first byte of
each input is the driver's control byte (piece size, request method for responses)."""
import os

def write(target, seeds):
    d = os.path.join("corpus", target)
    os.makedirs(d, exist_ok=True)
    for name, ctl, body in seeds:
        with open(os.path.join(d, name), "wb") as f:
            f.write(bytes([ctl]) + body)

H = b"Host: example.com\r\n"
browser = (b"GET /wiki/Special:Search?search=http&go=Go HTTP/1.1\r\n" + H +
           b"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:109.0) Gecko/20100101 Firefox/115.0\r\n"
           b"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
           b"Accept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate, br\r\n"
           b"Connection: keep-alive\r\nCookie: a=1; b=2\r\nUpgrade-Insecure-Requests: 1\r\n"
           b"Sec-Fetch-Dest: document\r\nSec-Fetch-Mode: navigate\r\nSec-Fetch-Site: none\r\n"
           b"Sec-Fetch-User: ?1\r\nPragma: no-cache\r\nCache-Control: no-cache\r\nDNT: 1\r\n\r\n")
chunked = (b"POST /upload HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n"
           b"5;ext=1\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-Sum: 1\r\n\r\n")
requests = [
    ("get", 0, b"GET / HTTP/1.1\r\n" + H + b"\r\n"),
    ("browser", 3, browser),
    ("post_cl", 5, b"POST /form HTTP/1.1\r\n" + H + b"Content-Length: 11\r\n\r\nhello world"),
    ("post_chunked", 1, chunked),
    ("pipelined", 7, b"GET /a HTTP/1.1\r\n" + H + b"\r\n" + chunked + b"GET /b HTTP/1.0\r\n\r\n"),
    ("http10_keepalive", 2, b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"),
    ("absolute_form", 4, b"GET http://example.com:8080/a?b HTTP/1.1\r\n" + H + b"\r\n"),
    ("options_star", 6, b"OPTIONS * HTTP/1.1\r\n" + H + b"\r\n"),
    ("connect", 8, b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"),
    ("expect", 9, b"PUT /x HTTP/1.1\r\n" + H + b"Expect: 100-continue\r\nContent-Length: 3\r\n\r\nabc"),
    ("upgrade", 10, b"GET /ws HTTP/1.1\r\n" + H + b"Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\r\n"),
    ("cl_list", 11, b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 3, 3\r\nContent-Length: 3\r\n\r\nabc"),
    ("smuggle_cl_te", 12, b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
    ("smuggle_te_gzip", 13, b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked, gzip\r\n\r\n"),
    ("smuggle_te_space", 14, b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n"),
    ("smuggle_obs_fold", 15, b"GET / HTTP/1.1\r\n" + H + b"X: a\r\n Transfer-Encoding: chunked\r\n\r\n"),
    ("bare_lf", 16, b"GET / HTTP/1.1\nHost: a\n\n"),
    ("bare_cr", 0, b"GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n"),
    ("nul_value", 1, b"GET / HTTP/1.1\r\nHost: a\x00b\r\n\r\n"),
    ("cl_conflict", 2, b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 1\r\nContent-Length: 2\r\n\r\nab"),
    ("chunk_overflow", 3, b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n"),
    ("chunk_no_crlf", 4, b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n3\r\nabcXY0\r\n\r\n"),
    ("http2", 5, b"GET / HTTP/2.0\r\n" + H + b"\r\n"),
    ("leading_crlf", 6, b"\r\n\r\nGET / HTTP/1.1\r\n" + H + b"\r\n"),
    ("te_http10", 7, b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
    ("no_host", 8, b"GET / HTTP/1.1\r\n\r\n"),
    ("obs_text", 9, b"GET / HTTP/1.1\r\n" + H + b"X: caf\xc3\xa9\t!\r\n\r\n"),
]
responses = [
    ("ok_cl", 0x00, b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello"),
    ("chunked_trailers", 0x01, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n5\r\npedia\r\n0\r\nExpires: never\r\n\r\n"),
    ("until_close", 0x02, b"HTTP/1.1 200 OK\r\nServer: x\r\n\r\nbody until close"),
    ("head_response", 0x23, b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
    ("connect_200", 0x44, b"HTTP/1.1 200 Connection Established\r\n\r\ntunnel bytes"),
    ("continue_then_ok", 0x05, b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok"),
    ("switching", 0x06, b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x05hello"),
    ("no_content", 0x07, b"HTTP/1.1 204 No Content\r\nContent-Length: 3\r\n\r\nHTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n"),
    ("http10", 0x08, b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nx"),
    ("no_reason", 0x09, b"HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n"),
    ("bad_status", 0x0a, b"HTTP/1.1 2000 OK\r\n\r\n"),
    ("cl_te", 0x0b, b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
    ("te_gzip", 0x0c, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nxx"),
    ("obs_fold", 0x0d, b"HTTP/1.1 200 OK\r\nX: a\r\n\tb\r\nContent-Length: 0\r\n\r\n"),
    ("pipelined", 0x0e, b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\naHTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\nHTTP/1.1 500 Internal Server Error\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"),
    ("many_headers", 0x0f, b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-%d: %d\r\n" % (i, i) for i in range(25)) + b"\r\n"),
    ("bare_lf", 0x10, b"HTTP/1.1 200 OK\nContent-Length: 0\n\n"),
    ("early_hints", 0x11, b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
]
chunked_bodies = [
    ("simple", 0, b"5\r\nhello\r\n0\r\n\r\n"),
    ("two_chunks", 1, b"4\r\nWiki\r\n5\r\npedia\r\n0\r\n\r\n"),
    ("ext", 2, b"5;name=value;flag\r\nhello\r\n0;last\r\n\r\n"),
    ("ext_quoted", 3, b"5 ; a=\"b c\"\r\nhello\r\n0\r\n\r\n"),
    ("trailers", 4, b"3\r\nabc\r\n0\r\nX-Checksum: 1234\r\nX-Other:  v \r\n\r\n"),
    ("upper_hex", 5, b"1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\n\r\n"),
    ("leading_zeros", 6, b"0005\r\nhello\r\n000\r\n\r\n"),
    ("overflow", 7, b"fffffffffffffffff\r\n"),
    ("max16", 8, b"ffffffffffffffff\r\n"),
    ("missing_crlf", 9, b"3\r\nabcd\r\n0\r\n\r\n"),
    ("bare_lf", 10, b"3\nabc\n0\n\n"),
    ("bad_size", 11, b"x\r\n"),
    ("neg_size", 12, b"-1\r\n"),
    ("trailer_fold", 0, b"0\r\nA: b\r\n c\r\n\r\n"),
    ("trailer_space_colon", 1, b"0\r\nA : b\r\n\r\n"),
    ("empty", 2, b"0\r\n\r\n"),
    ("cr_in_ext", 3, b"3;a\rb\r\nabc\r\n0\r\n\r\n"),
    ("big_chunk", 4, b"400\r\n" + b"x" * 1024 + b"\r\n0\r\n\r\n"),
    ("trailing", 5, b"1\r\na\r\n0\r\n\r\nGET / HTTP/1.1\r\n"),
]
write("fuzz_http_request", requests)
write("fuzz_http_response", responses)
write("fuzz_http_chunked", chunked_bodies)
