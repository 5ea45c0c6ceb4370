"""KART error objects and the exception that carries them."""

from __future__ import annotations

import json

from flask import Response, request

RETRY_AFTER = "1"


class ApiError(Exception):
    """An error answered with the array's error object."""

    def __init__(self, status, message_id, message, cause="", solution="", *,
                 solution_type="SEE_ERROR_DETAIL", error_code=None, headers=None):
        super().__init__(message)
        self.status = status
        self.message_id = message_id
        self.message = message
        self.cause = cause
        self.solution = solution
        self.solution_type = solution_type
        self.error_code = error_code
        self.headers = dict(headers or {})

    def body(self, source=None):
        num = self.message_id[4:9] if self.message_id.startswith("KART") else "00000"
        obj = {
            "errorSource": source if source is not None else _source(),
            "messageId": self.message_id,
            "message": self.message,
            "cause": self.cause,
            "solution": self.solution,
            "solutionType": self.solution_type,
            "detailCode": f"{num}E-0",
        }
        if self.error_code:
            obj["errorCode"] = dict(self.error_code)
        return obj

    def response(self):
        headers = dict(self.headers)
        if self.status == 503:
            headers.setdefault("Retry-After", RETRY_AFTER)
        return json_response(self.body(), self.status, headers)


def _source():
    try:
        return request.path
    except RuntimeError:
        return ""


def json_response(obj, status=200, headers=None):
    resp = Response(json.dumps(obj), status=status, mimetype="application/json")
    resp.headers["Content-Type"] = "application/json;charset=utf-8"
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


# --- the catalogue ------------------------------------------------------------------------

def required(name):
    return ApiError(400, "KART20008-E",
                    f"Required parameters are not specified. (parameter = {name})",
                    "A required parameter is missing.", "Check parameters.")


def invalid(name, detail=""):
    msg = f"The value of the specified parameter is invalid. (parameter = {name})"
    if detail:
        msg += f" {detail}"
    return ApiError(400, "KART40039-E", msg, "An invalid value was specified.",
                    "Check the value of the parameter and run the request again.")


def unsupported(name):
    return ApiError(400, "KART40038-E",
                    "An unsupported parameter is specified in the request body, or the hierarchy "
                    f"of the specified parameter is invalid (attribute = {name})",
                    "An unsupported parameter was specified.",
                    "Check whether the specified attribute is correct, and whether the attribute "
                    "is specified in the correct hierarchy.")


def not_found(what="object"):
    # [I] Hitachi's own collection recognises a missing object by the text "Specified object does
    # not exist" in message + cause + solution (vspone_block vsp_parity_group_provisioner.py,
    # vsp_storage_pool_gateway.py); the array's exact sentence is not published.
    return ApiError(404, "KART30013-E", f"Specified object does not exist. ({what})",
                    "The object specified in the URL does not exist.",
                    "Check the URL and run the request again.")


def unauthorized(basic=False, message="The specified token is invalid."):
    realm = "Basic" if basic else "Session"
    return ApiError(401, "KART40003-E", message, "Authentication failed.",
                    "Check the credentials or generate a new session, then run the request again.",
                    headers={"WWW-Authenticate": f'{realm} realm="Block storage"'})


def forbidden():
    return ApiError(403, "KART40004-E",
                    "The user does not have the permission required to run this request.",
                    "The roles of the user do not allow the request.",
                    "Run the request as a user with the required role.")


def precondition(message, cause="The conditions for running the API request are not met.",
                 solution="Check the state of the storage system and run the request again."):
    return ApiError(412, "KART30097-E", message, cause, solution)


def busy(message="The server is busy. Wait a while and then run the request again."):
    return ApiError(503, "KART00003-E", message, "The REST API server is busy.",
                    "Wait a while, and then run the request again.", solution_type="RETRY",
                    headers={"Retry-After": RETRY_AFTER})


def storage_error(message, ssb1="B958", ssb2="015A"):
    return ApiError(500, "KART30000-E",
                    f"An error occurred in the storage system. (message = {message})",
                    "An error occurred during execution of a storage system operation.",
                    "Resolve the cause of the error and run the request again.",
                    error_code={"SSB1": ssb1, "SSB2": ssb2})


def locked_by_session():
    return precondition(
        "The request cannot be run because the session holds a resource lock.",
        cause="If you locked any resources of the target storage system by using the REST API, "
              "you will not be able to use this API function.",
        solution="Unlock the resources before running the API function.")
