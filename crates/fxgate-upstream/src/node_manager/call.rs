//! Call (OPC 10000-4 §5.11.2): methods of upstream nodes, including standard methods such as
//! Acknowledge (OPC 10000-9 §5.7.3) called on them, are forwarded in one Call per upstream;
//! `AddServer` / `RemoveServer` of `Objects/fxgate/Configuration` are the gateway's own.

use std::collections::HashMap;
use std::sync::Arc;

use opcua::server::node_manager::{MethodCall, RequestContext};
use opcua::types::{CallMethodRequest, MessageSecurityMode, StatusCode};

use super::route::Target;
use super::ForwardNodeManager;
use crate::configure;
use crate::local::{ConfigMethod, Local};
use crate::upstream::{service_failure, Upstream};

impl ForwardNodeManager {
    /// Where a call goes: by its method, or for a standard method by its object.
    fn call_target(&self, m: &MethodCall) -> Option<Target> {
        if m.method_id().namespace == 0 {
            return self.upstream_of_object(m.object_id()).map(Target::Upstream);
        }
        self.target(m.method_id())
    }

    /// Call (OPC 10000-4 §5.11.2): upstream methods in one Call per upstream, the
    /// configuration methods here.
    pub(super) async fn call_methods(&self, context: &RequestContext, methods_to_call: &mut [&mut MethodCall]) -> Result<(), StatusCode> {
        let mut groups: HashMap<String, (Arc<Upstream>, Vec<usize>)> = HashMap::new();
        for (i, m) in methods_to_call.iter_mut().enumerate() {
            match self.call_target(m) {
                Some(Target::Upstream(up)) => {
                    if !context.authenticator.is_user_executable(&context.token, m.method_id()) {
                        m.set_status(StatusCode::BadUserAccessDenied);
                        continue;
                    }
                    groups.entry(up.name.clone()).or_insert_with(|| (up.clone(), Vec::new())).1.push(i);
                }
                Some(Target::Local(Local::Method(method))) => self.call_configuration(context, m, method).await,
                Some(Target::Local(_)) => m.set_status(StatusCode::BadMethodInvalid),
                None => {}
            }
        }
        for (_, (up, idx)) in groups {
            let Some(live) = up.live() else {
                for i in idx {
                    methods_to_call[i].set_status(StatusCode::BadNoCommunication);
                }
                continue;
            };
            let mut reqs = Vec::new();
            let mut sent = Vec::new();
            for i in idx {
                let m = &methods_to_call[i];
                let (Some(obj), Some(method)) = (live.map.node_to_up(m.object_id()), live.map.node_to_up(m.method_id())) else {
                    methods_to_call[i].set_status(StatusCode::BadNodeIdUnknown);
                    continue;
                };
                let args: Vec<_> = m.arguments().iter().cloned().map(|a| live.map.variant_to_up(a)).collect();
                reqs.push(CallMethodRequest {
                    object_id: obj,
                    method_id: method,
                    input_arguments: Some(args),
                });
                sent.push(i);
            }
            if reqs.is_empty() {
                continue;
            }
            self.metrics_request(&up);
            match live.session.call(reqs).await {
                Ok(results) => {
                    for (i, r) in sent.into_iter().zip(results) {
                        let m = &mut methods_to_call[i];
                        if let Some(ar) = r.input_argument_results.filter(|v| v.iter().any(|s| s.is_bad())) {
                            m.set_argument_error(ar);
                        }
                        m.set_status(r.status_code);
                        let outs: Vec<_> = r
                            .output_arguments
                            .unwrap_or_default()
                            .into_iter()
                            .map(|v| live.map.variant_to_gw(v))
                            .collect();
                        m.set_outputs(outs);
                    }
                }
                Err(e) => {
                    for i in sent {
                        methods_to_call[i].set_status(service_failure(e.status()));
                    }
                }
            }
        }
        Ok(())
    }

    /// `AddServer` / `RemoveServer` on `Objects/fxgate/Configuration` (configure role only).
    async fn call_configuration(&self, context: &RequestContext, m: &mut MethodCall, method: ConfigMethod) {
        if *m.object_id() != Local::Configuration.node_id(self.ns) {
            m.set_status(StatusCode::BadMethodInvalid);
            return;
        }
        let user = user_name(&context.token);
        if !context.authenticator.is_user_executable(&context.token, m.method_id()) {
            tracing::warn!(method = method.name(), %user, "configuration method refused: the user lacks the configure role");
            m.set_status(StatusCode::BadUserAccessDenied);
            return;
        }
        let encrypted = context.session.read().message_security_mode() == MessageSecurityMode::SignAndEncrypt;
        let result = match method {
            ConfigMethod::AddServer => match configure::add_server_config(m.arguments(), encrypted) {
                Ok(cfg) => configure::add_server(&self.agg, cfg).await,
                Err(e) => Err(e),
            },
            ConfigMethod::RemoveServer => match configure::remove_server_name(m.arguments()) {
                Ok(name) => configure::remove_server(&self.agg, &name).await,
                Err(e) => Err(e),
            },
        };
        match result {
            Ok(()) => {
                tracing::info!(method = method.name(), %user, "configuration changed and written to the configuration file");
                m.set_status(StatusCode::Good);
            }
            Err(e) => {
                tracing::warn!(method = method.name(), %user, error = %e, "configuration method failed");
                if let configure::ConfigureError::Arguments { per_argument, .. } = &e {
                    if !per_argument.is_empty() {
                        m.set_argument_error(per_argument.clone());
                    }
                }
                m.set_status(e.status());
            }
        }
    }
}

/// The user name of a session's token, for the log.
fn user_name(token: &opcua::server::authenticator::UserToken) -> String {
    if token.is_anonymous() {
        "anonymous".into()
    } else {
        token.0.clone()
    }
}
