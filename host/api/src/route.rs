//! One route of the gateway: its path, the methods it answers with their handlers, and, for an
//! admin route, the area whose roles may call it. The table of every route is
//! [`super::table`].

use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{MethodFilter, MethodRouter};

use super::AppState;
use super::roles;

/// One route: its path and the methods it answers, each with its handler.
/// [`super::table::routes`] is the gateway's whole table, in one place: the router is built from
/// it, and tests walk it.
pub struct Route {
    pub(super) path: &'static str,
    methods: Vec<Method>,
    pub(super) handler: MethodRouter<AppState>,
    pub(super) access: Option<roles::Access>,
}

impl Route {
    /// A route at `path` answering no method yet.
    pub fn at(path: &'static str) -> Route {
        Route {
            path,
            methods: Vec::new(),
            handler: MethodRouter::new(),
            access: None,
        }
    }

    /// An admin route of area `access`: [`roles::guard`] checks the caller's token and role
    /// before any of its handlers runs. Every `/admin` route declares one.
    pub fn admin(mut self, access: roles::Access) -> Route {
        self.access = Some(access);
        self
    }

    /// The area it belongs to, for admin routes.
    pub fn access(&self) -> Option<roles::Access> {
        self.access
    }

    /// Answers `GET` (and `HEAD`) with `handler`.
    pub fn get<H: Handler<T, AppState>, T: 'static>(self, handler: H) -> Route {
        self.on(Method::GET, MethodFilter::GET, handler)
    }

    /// Answers `POST` with `handler`.
    pub fn post<H: Handler<T, AppState>, T: 'static>(self, handler: H) -> Route {
        self.on(Method::POST, MethodFilter::POST, handler)
    }

    /// Answers `PUT` with `handler`.
    pub fn put<H: Handler<T, AppState>, T: 'static>(self, handler: H) -> Route {
        self.on(Method::PUT, MethodFilter::PUT, handler)
    }

    /// Answers `PATCH` with `handler`.
    pub fn patch<H: Handler<T, AppState>, T: 'static>(self, handler: H) -> Route {
        self.on(Method::PATCH, MethodFilter::PATCH, handler)
    }

    /// Answers `DELETE` with `handler`.
    pub fn delete<H: Handler<T, AppState>, T: 'static>(self, handler: H) -> Route {
        self.on(Method::DELETE, MethodFilter::DELETE, handler)
    }

    fn on<H: Handler<T, AppState>, T: 'static>(
        mut self,
        method: Method,
        filter: MethodFilter,
        handler: H,
    ) -> Route {
        self.methods.push(method);
        self.handler = self.handler.on(filter, handler);
        self
    }

    /// The path, with `{name}` for each parameter.
    pub fn path(&self) -> &'static str {
        self.path
    }

    /// The methods it answers (`GET` answers `HEAD` too).
    pub fn methods(&self) -> &[Method] {
        &self.methods
    }
}
