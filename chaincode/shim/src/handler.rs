//! One peer connection: handshake, then each transaction on its own task with
//! the peer's answers routed back by (channel_id, txid).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use prost::Message;
use tokio::sync::mpsc;
use tonic::{Status, Streaming};

use crate::proposal::ProposalContext;
use crate::proto::{chaincode_message::Type, ChaincodeId, ChaincodeInput, ChaincodeMessage};
use crate::{Chaincode, ShimError, Stub};

pub(crate) type Outbound = mpsc::Sender<Result<ChaincodeMessage, Status>>;
type TxKey = (String, String);
type Routes = Arc<Mutex<HashMap<TxKey, mpsc::Sender<ChaincodeMessage>>>>;

#[derive(Debug, Clone, Copy, PartialEq)]
enum State {
    Created,
    Established,
    Ready,
}

/// Runs until the peer closes the stream; returns an error on protocol violations
/// (after telling the peer through the stream status).
pub(crate) async fn run_connection<C: Chaincode>(
    cc: Arc<C>,
    chaincode_id: String,
    mut inbound: Streaming<ChaincodeMessage>,
    out: Outbound,
) -> Result<(), ShimError> {
    let register = ChaincodeMessage {
        r#type: Type::Register as i32,
        payload: ChaincodeId {
            name: chaincode_id,
            ..Default::default()
        }
        .encode_to_vec(),
        ..Default::default()
    };
    out.send(Ok(register))
        .await
        .map_err(|_| ShimError::Disconnected)?;

    let routes: Routes = Arc::default();
    // When the stream ends (any way), waiting transactions must see Disconnected.
    let _guard = ClearOnDrop(routes.clone());
    let mut state = State::Created;
    while let Some(msg) = inbound.message().await? {
        let ty = msg.r#type();
        let next = match (state, ty) {
            (_, Type::Keepalive) => {
                // Echoed so the peer knows the chaincode is alive.
                let _ = out.send(Ok(msg)).await;
                continue;
            }
            (State::Created, Type::Registered) => State::Established,
            (State::Established, Type::Ready) => State::Ready,
            (State::Ready, Type::Init | Type::Transaction) => {
                start_transaction(&cc, &routes, &out, msg).await;
                continue;
            }
            (State::Ready, Type::Response | Type::Error) => {
                route_answer(&routes, msg).await;
                continue;
            }
            _ => {
                let text = format!(
                    "chaincode cannot handle message {} (txid {:?}) while in state {state:?}",
                    ty.as_str_name(),
                    msg.txid
                );
                let _ = out
                    .send(Err(Status::failed_precondition(text.clone())))
                    .await;
                return Err(ShimError::Protocol(text));
            }
        };
        state = next;
    }
    Ok(())
}

struct ClearOnDrop(Routes);

impl Drop for ClearOnDrop {
    fn drop(&mut self) {
        if let Ok(mut routes) = self.0.lock() {
            routes.clear();
        }
    }
}

async fn route_answer(routes: &Routes, msg: ChaincodeMessage) {
    let key = (msg.channel_id.clone(), msg.txid.clone());
    let tx = routes.lock().expect("routes lock").get(&key).cloned();
    match tx {
        Some(tx) => {
            let _ = tx.send(msg).await;
        }
        None => eprintln!(
            "fabx-shim: ignoring {} for unknown transaction {}/{}",
            msg.r#type().as_str_name(),
            key.0,
            key.1
        ),
    }
}

async fn start_transaction<C: Chaincode>(
    cc: &Arc<C>,
    routes: &Routes,
    out: &Outbound,
    msg: ChaincodeMessage,
) {
    let key = (msg.channel_id.clone(), msg.txid.clone());
    let (answer_tx, answer_rx) = mpsc::channel(4);
    let duplicate = {
        let mut routes = routes.lock().expect("routes lock");
        let duplicate = routes.contains_key(&key);
        if !duplicate {
            routes.insert(key.clone(), answer_tx);
        }
        duplicate
    };
    if duplicate {
        let text = format!("another request is pending for txid {}", key.1);
        let _ = out.send(Ok(error_message(&msg, text))).await;
        return;
    }
    let (cc, routes, out) = (cc.clone(), routes.clone(), out.clone());
    tokio::spawn(async move {
        let reply = run_transaction(cc, &out, msg, answer_rx).await;
        routes.lock().expect("routes lock").remove(&key);
        let _ = out.send(Ok(reply)).await;
    });
}

/// Runs the chaincode for one INIT/TRANSACTION; returns COMPLETED, or ERROR for
/// failures outside the chaincode (bad input or proposal, panic), as the Go shim does.
async fn run_transaction<C: Chaincode>(
    cc: Arc<C>,
    out: &Outbound,
    msg: ChaincodeMessage,
    answers: mpsc::Receiver<ChaincodeMessage>,
) -> ChaincodeMessage {
    let input = match ChaincodeInput::decode(msg.payload.as_slice()) {
        Ok(input) => input,
        Err(e) => return error_message(&msg, format!("failed to unmarshal input: {e}")),
    };
    let proposal = match ProposalContext::decode(msg.proposal.as_ref()) {
        Ok(proposal) => proposal,
        Err(e) => return error_message(&msg, format!("failed to create new ChaincodeStub: {e}")),
    };
    let is_init = msg.r#type() == Type::Init;
    let stub = Stub::new(
        msg.channel_id.clone(),
        msg.txid.clone(),
        input.args,
        input.decorations,
        proposal,
        out.clone(),
        answers,
    );
    // Own task so a panicking chaincode fails this transaction only.
    let result = tokio::spawn(async move {
        let response = if is_init {
            cc.init(&stub).await
        } else {
            cc.invoke(&stub).await
        };
        (response, stub.take_event())
    })
    .await;
    match result {
        Ok((response, event)) => ChaincodeMessage {
            r#type: Type::Completed as i32,
            payload: crate::proto::Response::from(response).encode_to_vec(),
            txid: msg.txid,
            chaincode_event: event,
            channel_id: msg.channel_id,
            ..Default::default()
        },
        Err(e) => error_message(&msg, format!("chaincode panicked: {e}")),
    }
}

fn error_message(msg: &ChaincodeMessage, text: String) -> ChaincodeMessage {
    ChaincodeMessage {
        r#type: Type::Error as i32,
        payload: text.into_bytes(),
        txid: msg.txid.clone(),
        channel_id: msg.channel_id.clone(),
        ..Default::default()
    }
}
