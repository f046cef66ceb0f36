//! The structures and unions of the FX CM namespace that the ConnectionManager uses: portable
//! node identifiers and paths, translation tables, server and SKS addresses, and QoS, plus the
//! configuration-file structures without optional fields; those with optional fields are in
//! [`super::cm_conf`].

use opcua::types::{
    DataTypeId, ExtensionObject, MessageSecurityMode, NodeId, PortableNodeId,
    PortableQualifiedName, PubSubConfiguration2DataType, PubSubConfigurationRefDataType,
    RelativePath, UAString, Variant,
};

use super::def::{ARRAY, SCALAR};
use super::ids::cm;

fx_structure! {
    /// A key given as a namespace URI and name, and a value.
    PortableKeyValuePair (Cm cm::PORTABLE_KEY_VALUE_PAIR) : Ua(DataTypeId::Structure),
    encodings(1114, 1115, 1116), abstract false {
        key: PortableQualifiedName => "Key": Ua(DataTypeId::PortableQualifiedName), SCALAR, Plain;
        value: Variant => "Value": Ua(DataTypeId::BaseDataType), SCALAR, Plain;
    }
}

fx_structure! {
    /// How to reach a server.
    ServerAddressDataType (Cm cm::SERVER_ADDRESS_DATA_TYPE) : Ua(DataTypeId::Structure),
    encodings(1117, 1118, 1119), abstract false {
        address: UAString => "Address": Ua(DataTypeId::UriString), SCALAR, Plain;
        security_mode: MessageSecurityMode
            => "SecurityMode": Ua(DataTypeId::MessageSecurityMode), SCALAR, Plain;
        security_policy_uri: UAString => "SecurityPolicyUri": Ua(DataTypeId::String), SCALAR, Plain;
        server_uri: UAString => "ServerUri": Ua(DataTypeId::UriString), SCALAR, Plain;
    }
}

fx_structure! {
    /// A browse path whose names and reference types carry namespace URIs.
    PortableRelativePath (Cm cm::PORTABLE_RELATIVE_PATH) : Ua(DataTypeId::Structure),
    encodings(1159, 1160, 1161), abstract false {
        elements: Option<Vec<PortableRelativePathElement>>
            => "Elements": Cm(cm::PORTABLE_RELATIVE_PATH_ELEMENT), ARRAY, Plain;
    }
}

fx_structure! {
    /// One step of a [`PortableRelativePath`].
    PortableRelativePathElement (Cm cm::PORTABLE_RELATIVE_PATH_ELEMENT) : Ua(DataTypeId::Structure),
    encodings(1222, 1223, 1224), abstract false {
        reference_type_id: PortableNodeId
            => "ReferenceTypeId": Ua(DataTypeId::PortableNodeId), SCALAR, Plain;
        is_inverse: bool => "IsInverse": Ua(DataTypeId::Boolean), SCALAR, Plain;
        include_subtypes: bool => "IncludeSubtypes": Ua(DataTypeId::Boolean), SCALAR, Plain;
        target_name: PortableQualifiedName
            => "TargetName": Ua(DataTypeId::PortableQualifiedName), SCALAR, Plain;
    }
}

fx_structure! {
    /// The QoS of a communication flow.
    CommunicationFlowQosDataType (Cm cm::COMMUNICATION_FLOW_QOS_DATA_TYPE)
        : Ua(DataTypeId::Structure), encodings(5017, 5018, 5019), abstract false {
        qos_category: UAString => "QosCategory": Ua(DataTypeId::String), SCALAR, Plain;
        /// Subtypes of TransmitQosDataType.
        transmit_qos: Option<Vec<ExtensionObject>>
            => "TransmitQos": Ua(DataTypeId::TransmitQosDataType), ARRAY, Subtyped;
        /// Subtypes of ReceiveQosDataType.
        receive_qos: Option<Vec<ExtensionObject>>
            => "ReceiveQos": Ua(DataTypeId::ReceiveQosDataType), ARRAY, Subtyped;
    }
}

fx_structure! {
    /// A portable node identifier (or array element) and a value for it.
    PortableNodeIdentifierValuePair (Cm cm::PORTABLE_NODE_IDENTIFIER_VALUE_PAIR)
        : Ua(DataTypeId::Structure), encodings(5016, 5012, 5015), abstract false {
        key: PortableNodeIdentifier => "Key": Cm(cm::PORTABLE_NODE_IDENTIFIER), SCALAR, Plain;
        array_index: Option<Vec<u32>> => "ArrayIndex": Ua(DataTypeId::UInt32), ARRAY, Plain;
        value: Variant => "Value": Ua(DataTypeId::BaseDataType), SCALAR, Plain;
    }
}

fx_structure! {
    /// Maps a `…/FX/CM/Translation/` placeholder NodeId to the node it stands for.
    NodeIdTranslationDataType (Cm cm::NODE_ID_TRANSLATION_DATA_TYPE) : Ua(DataTypeId::Structure),
    encodings(5025, 5026, 5027), abstract false {
        node_placeholder: NodeId => "NodePlaceholder": Ua(DataTypeId::NodeId), SCALAR, Plain;
        portable_node: PortableNodeIdentifier
            => "PortableNode": Cm(cm::PORTABLE_NODE_IDENTIFIER), SCALAR, Plain;
    }
}

fx_structure! {
    /// How to reach a Security Key Server.
    SecurityKeyServerAddressDataType (Cm cm::SECURITY_KEY_SERVER_ADDRESS_DATA_TYPE)
        : Ua(DataTypeId::Structure), encodings(5091, 5092, 5093), abstract false {
        address: UAString => "Address": Ua(DataTypeId::UriString), SCALAR, Plain;
        security_policy_uri: UAString => "SecurityPolicyUri": Ua(DataTypeId::String), SCALAR, Plain;
        server_uri: UAString => "ServerUri": Ua(DataTypeId::UriString), SCALAR, Plain;
        use_push_model: bool => "UsePushModel": Ua(DataTypeId::Boolean), SCALAR, Plain;
    }
}

fx_structure! {
    /// A node identifier (or array element) of the configuration file and a value for it.
    NodeIdentifierValuePair (Cm cm::NODE_IDENTIFIER_VALUE_PAIR) : Ua(DataTypeId::Structure),
    encodings(5070, 5071, 5072), abstract false {
        key: NodeIdentifier => "Key": Cm(cm::NODE_IDENTIFIER), SCALAR, Plain;
        array_index: Option<Vec<u32>> => "ArrayIndex": Ua(DataTypeId::UInt32), ARRAY, Plain;
        value: Variant => "Value": Ua(DataTypeId::BaseDataType), SCALAR, Plain;
    }
}

fx_structure! {
    /// The configuration file's form of [`NodeIdTranslationDataType`].
    NodeIdTranslationConfDataType (Cm cm::NODE_ID_TRANSLATION_CONF_DATA_TYPE)
        : Ua(DataTypeId::Structure), encodings(5073, 5074, 5075), abstract false {
        node_placeholder: NodeId => "NodePlaceholder": Ua(DataTypeId::NodeId), SCALAR, Plain;
        node: NodeIdentifier => "Node": Cm(cm::NODE_IDENTIFIER), SCALAR, Plain;
    }
}

fx_structure! {
    /// A network address with the alternatives an editor may choose from.
    AddressSelectionDataType (Cm cm::ADDRESS_SELECTION_DATA_TYPE) : Ua(DataTypeId::Structure),
    encodings(5076, 5077, 5078), abstract false {
        /// A subtype of NetworkAddressDataType.
        address: ExtensionObject
            => "Address": Ua(DataTypeId::NetworkAddressDataType), SCALAR, Subtyped;
        /// Subtypes of NetworkAddressDataType.
        address_selection: Option<Vec<ExtensionObject>>
            => "AddressSelection": Ua(DataTypeId::NetworkAddressDataType), ARRAY, Subtyped;
        address_modify: bool => "AddressModify": Ua(DataTypeId::Boolean), SCALAR, Plain;
    }
}

fx_structure! {
    /// Receive QoS with the alternatives an editor may choose from.
    ReceiveQosSelectionDataType (Cm cm::RECEIVE_QOS_SELECTION_DATA_TYPE)
        : Ua(DataTypeId::Structure), encodings(5080, 5081, 5082), abstract false {
        /// Subtypes of ReceiveQosDataType.
        receive_qos: Option<Vec<ExtensionObject>>
            => "ReceiveQos": Ua(DataTypeId::ReceiveQosDataType), ARRAY, Subtyped;
        receive_qos_selection: Variant
            => "ReceiveQosSelection": Ua(DataTypeId::BaseDataType), SCALAR, Plain;
        receive_qos_modify: bool => "ReceiveQosModify": Ua(DataTypeId::Boolean), SCALAR, Plain;
    }
}

fx_structure! {
    /// The PubSub communication model of an AutomationComponent configuration (a
    /// CommunicationModelConfigurationDataType).
    PubSubCommunicationModelConfigurationDataType
        (Cm cm::PUB_SUB_COMMUNICATION_MODEL_CONFIGURATION_DATA_TYPE)
        : Cm(cm::COMMUNICATION_MODEL_CONFIGURATION_DATA_TYPE), encodings(5064, 5065, 5066),
        abstract false {
        pub_sub_configuration: PubSubConfiguration2DataType
            => "PubSubConfiguration": Ua(DataTypeId::PubSubConfiguration2DataType), SCALAR, Plain;
        translation_table: Option<Vec<NodeIdTranslationDataType>>
            => "TranslationTable": Cm(cm::NODE_ID_TRANSLATION_DATA_TYPE), ARRAY, Plain;
        configuration_references: Option<Vec<PubSubConfigurationRefDataType>>
            => "ConfigurationReferences": Ua(DataTypeId::PubSubConfigurationRefDataType), ARRAY, Plain;
    }
}

fx_union! {
    /// A node on another server: a portable NodeId, an alias name or a portable browse path.
    PortableNodeIdentifier (Cm cm::PORTABLE_NODE_IDENTIFIER), encodings(5057, 5058, 5059) {
        Node(PortableNodeId) => Ua(DataTypeId::PortableNodeId), SCALAR, Plain;
        Alias(UAString) => Ua(DataTypeId::String), SCALAR, Plain;
        IdentifierBrowsePath(PortableRelativePath) => Cm(cm::PORTABLE_RELATIVE_PATH), SCALAR, Plain;
    }
}

fx_union! {
    /// A node in the configuration file: a NodeId, an alias name or a browse path.
    NodeIdentifier (Cm cm::NODE_IDENTIFIER), encodings(5067, 5068, 5069) {
        Node(NodeId) => Ua(DataTypeId::NodeId), SCALAR, Plain;
        Alias(UAString) => Ua(DataTypeId::String), SCALAR, Plain;
        IdentifierBrowsePath(RelativePath) => Ua(DataTypeId::RelativePath), SCALAR, Plain;
    }
}
