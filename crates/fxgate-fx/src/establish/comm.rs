//! SetCommunicationConfigurationCmd and EnableCommunicationCmd within a call (§6.2.4.3.9–10).

use opcua::types::{ExtensionObject, StatusCode};

use super::{communication_result, Host, Run};

impl Run<'_> {
    /// SetCommunicationConfigurationCmd: the one configuration, applied atomically, and the
    /// endpoints linked; false (abort) when anything failed.
    pub(super) fn set_communication(&mut self, host: &dyn Host) -> bool {
        let mut targets = Vec::with_capacity(self.req.endpoints.len());
        for i in 0..self.req.endpoints.len() {
            let links: &ExtensionObject = &self.req.endpoints[i].communication_links;
            let node = if links.is_null() { self.targets[i].clone() } else { self.target(host, i).ok() };
            targets.push((node, links));
        }
        let Some(configuration) = self.req.communication.first() else {
            self.communication = vec![communication_result(StatusCode::BadInvalidArgument)];
            return false;
        };
        let out = host.set_communication(configuration, &targets);
        for (r, s) in self.endpoints.iter_mut().zip(&out.links) {
            r.communication_links_result = *s;
        }
        let ok = out.result.result.is_good() && out.links.iter().all(|s| s.is_good());
        self.communication = vec![out.result];
        if ok {
            self.applied = Some(out.undo);
        }
        ok
    }

    /// EnableCommunicationCmd: each endpoint's reader and writer with their parents.
    pub(super) fn enable_communication(&mut self, host: &dyn Host) -> bool {
        let mut failed = false;
        for i in 0..self.req.endpoints.len() {
            if failed {
                self.endpoints[i].enable_communication_result = StatusCode::BadNothingToDo;
                continue;
            }
            let result = match self.target(host, i) {
                Ok(node) => host.enable_communication(&node),
                Err(s) => {
                    self.endpoints[i].connection_endpoint_result = s;
                    Err(StatusCode::BadNothingToDo)
                }
            };
            match result {
                Ok(objects) => self.enabled.extend(objects),
                Err(s) => {
                    self.endpoints[i].enable_communication_result = s;
                    failed = true;
                }
            }
        }
        !failed
    }
}
