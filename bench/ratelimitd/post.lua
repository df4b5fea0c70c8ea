-- wrk script: POST /json with one envoyproxy/ratelimit request (a descriptor under a high limit).
wrk.method = "POST"
wrk.path = "/json"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"domain":"bench","descriptors":[{"entries":[{"key":"client","value":"c1"}]}]}'
