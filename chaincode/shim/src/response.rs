/// Status of a successful response (as in Fabric's shim).
pub const OK: i32 = 200;
/// Statuses from this value up are endorsement failures.
pub const ERROR_THRESHOLD: i32 = 400;
/// Status of an error response (as in Fabric's shim).
pub const ERROR: i32 = 500;

/// What a chaincode function returns to the peer.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Response {
    pub status: i32,
    pub message: String,
    pub payload: Vec<u8>,
}

impl Response {
    /// Status 200 with a payload (may be empty).
    pub fn success(payload: impl Into<Vec<u8>>) -> Self {
        Response {
            status: OK,
            message: String::new(),
            payload: payload.into(),
        }
    }

    /// Status 500 with a message; the peer rejects the proposal.
    pub fn error(message: impl Into<String>) -> Self {
        Response {
            status: ERROR,
            message: message.into(),
            payload: Vec::new(),
        }
    }

    /// True for status >= 400: the peer treats it as an endorsement failure.
    pub fn is_error(&self) -> bool {
        self.status >= ERROR_THRESHOLD
    }
}

impl From<crate::proto::Response> for Response {
    fn from(r: crate::proto::Response) -> Self {
        Response {
            status: r.status,
            message: r.message,
            payload: r.payload,
        }
    }
}

impl From<Response> for crate::proto::Response {
    fn from(r: Response) -> Self {
        crate::proto::Response {
            status: r.status,
            message: r.message,
            payload: r.payload,
        }
    }
}
