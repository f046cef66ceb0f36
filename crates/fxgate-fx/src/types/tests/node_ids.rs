//! Ten NodeIds checked by hand against the NodeSets' `NodeIds.csv` files (v1.00.02).

use crate::types::ids::{ac, cm, data, di};
use crate::types::*;

#[test]
fn spot_checks_against_the_csv_files() {
    // opc.ua.fx.data.nodeids.csv
    assert_eq!(data::FX_ROOT, 71); // FxRoot,71,Object
    assert_eq!(data::NODE_ID_VALUE_PAIR, 1028); // NodeIdValuePair,1028,DataType
    assert_eq!(data::CONNECTION_ENDPOINT_DEFINITION_DATA_TYPE, 3011); // …DefinitionDataType,3011
                                                                      // opc.ua.fx.ac.nodeids.csv
    assert_eq!(ac::AUTOMATION_COMPONENT_TYPE, 2); // AutomationComponentType,2,ObjectType
    assert_eq!(ac::AUTOMATION_COMPONENT_TYPE_ESTABLISH_CONNECTIONS, 292); // …_EstablishConnections,292
    assert_eq!(ac::PUB_SUB_CONNECTION_ENDPOINT_TYPE, 1005); // PubSubConnectionEndpointType,1005
    assert_eq!(ac::HAS_CONNECTION_ENDPOINT, 41); // HasConnectionEndpoint,41,ReferenceType
                                                 // opc.ua.fx.cm.nodeids.csv
    assert_eq!(
        cm::CONNECTION_MANAGER_TYPE_PROCESS_CONNECTION_CONFIGURATION_SETS,
        1483
    );
    assert_eq!(cm::STATE_MACHINE_ERROR_TO_PROCESSING, 1177); // …StateMachineType_ErrorToProcessing
                                                             // Opc.Ua.Di.NodeIds.csv
    assert_eq!(di::LOCKING_SERVICES_TYPE, 6388); // LockingServicesType,6388,ObjectType
                                                 // Encoding ids (NodeSets): Default Binary of NodeIdValuePair and of ApplicationId.
    assert_eq!(NodeIdValuePair::DEF.encodings.map(|e| e.binary), Some(1093));
    assert_eq!(ApplicationId::DEF.encodings.map(|e| e.binary), Some(5003));
}
