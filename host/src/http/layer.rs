//! The shape of this server's middleware: a [`Layer`] looks at the request's head without
//! awaiting and hands the next endpoint's future on ([`pass`]), wrapped in a few bytes; what
//! must await before the next endpoint runs (reading a body, a database lookup) goes into a
//! boxed future ([`slow`]) on the paths that need it.
//!
//! Written as `async fn (next, req)` around `next.call(req).await` (poem's `around`), every
//! layer kept a dead copy of the request (472 bytes) and the state of its own awaits beside
//! the next layer's whole future: the stack's future was 15.7 KB, moved into place layer by
//! layer and boxed once per request, and on the tracking bench `memcpy` and `malloc` of it were
//! about a tenth of the server's CPU.

use std::future::Future;

use futures_util::future::{ready, BoxFuture, Either};
use futures_util::{FutureExt, TryFutureExt};
use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result};

/// One middleware of the stack.
pub trait Layer: Clone + Send + Sync + 'static {
    /// Answers `req`, calling `next` when it goes on.
    fn call<'a, E: Endpoint + 'a>(
        &'a self,
        next: &'a E,
        req: Request,
    ) -> impl Future<Output = Result<Response>> + Send + 'a;
}

/// A path that either passes the request straight on or takes a boxed detour.
pub type Step<'a, F> = Either<F, BoxFuture<'a, Result<Response>>>;

/// The next endpoint's answer, as a response.
pub fn pass<E: Endpoint>(next: &E, req: Request) -> impl Future<Output = Result<Response>> + Send + '_ {
    next.call(req).map_ok(IntoResponse::into_response)
}

/// An endpoint's answer, an error included, as the response it sends.
pub fn respond(answer: Result<impl IntoResponse>) -> Response {
    match answer {
        Ok(resp) => resp.into_response(),
        Err(err) => err.into_response(),
    }
}

/// Passes `req` straight on.
pub fn go_on<E: Endpoint>(next: &E, req: Request) -> Step<'_, impl Future<Output = Result<Response>> + Send + '_> {
    Either::Left(pass(next, req))
}

/// A detour that awaits before (or instead of) the next endpoint, boxed so that only the
/// requests taking it pay for its state.
pub fn slow<'a, F>(work: impl Future<Output = Result<Response>> + Send + 'a) -> Step<'a, F> {
    Either::Right(work.boxed())
}

/// An answer given at once, without the next endpoint.
pub fn answer<'a, F>(answer: Result<Response>) -> Step<'a, F> {
    slow(ready(answer))
}

/// `layer` as a poem middleware: `endpoint.with(Layered(layer))`.
#[derive(Clone)]
pub struct Layered<L>(pub L);

impl<L: Layer, E: Endpoint> Middleware<E> for Layered<L> {
    type Output = LayeredEndpoint<L, E>;

    fn transform(&self, next: E) -> Self::Output {
        LayeredEndpoint {
            layer: self.0.clone(),
            next,
        }
    }
}

pub struct LayeredEndpoint<L, E> {
    layer: L,
    next: E,
}

impl<L: Layer, E: Endpoint> Endpoint for LayeredEndpoint<L, E> {
    type Output = Response;

    fn call(&self, req: Request) -> impl Future<Output = Result<Response>> + Send {
        self.layer.call(&self.next, req)
    }
}
