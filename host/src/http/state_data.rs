//! Attaches the application state to every request: handlers read it as
//! `Data<&Arc<AppState>>`, and the layers inside this one find it there.

use std::future::Future;
use std::sync::Arc;

use poem::{Endpoint, Request, Response, Result};

use super::layer::{pass, Layer};
use crate::state::AppState;

/// Poem's `AddData`, as a [`Layer`].
#[derive(Clone)]
pub struct StateData(pub Arc<AppState>);

impl Layer for StateData {
    fn call<'a, E: Endpoint + 'a>(
        &'a self,
        next: &'a E,
        mut req: Request,
    ) -> impl Future<Output = Result<Response>> + Send + 'a {
        req.extensions_mut().insert(self.0.clone());
        pass(next, req)
    }
}
