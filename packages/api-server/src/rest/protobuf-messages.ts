/**
 * The Kubernetes protobuf messages hakube decodes (protobuf.ts), as a compact table written for
 * hakube: for each message, the fields our zod schemas have (and every field of the sub-structures
 * the schemas keep whole as loose objects, such as securityContext and affinity), with the field
 * numbers, types and labels of k8s.io/api {core,apps,autoscaling,coordination}/v1 and
 * k8s.io/apimachinery meta/v1 generated.proto (checked field by field against those files).
 *
 * A field is `jsonName:number:type` plus flags:
 * - type: `s` string, `b` bool, `i32`/`i64` ints, `f64` double, `by` bytes (base64 in JSON),
 *   `T` metav1.Time, `MT` metav1.MicroTime, `Q` resource.Quantity, `IOS` intstr.IntOrString,
 *   `FV` metav1.FieldsV1, `{v}` a map from string to v, anything else a message of this table.
 * - `[]` repeated; `*` a Go pointer (a zero value on the wire is kept); `?` `omitempty` in the Go
 *   JSON tag (a zero value of a non-pointer field is dropped, as encoding/json does); `^` an embedded
 *   Go struct (`json:",inline"`) whose fields are merged into the parent, named by its proto field.
 *
 * The JSON name equals the proto field name in every message here. A `$all` suffix marks a
 * structure reached through a loose zod object, described whole; without it, a message lists only
 * the fields its zod schema has (protobuf has no strict mode in kube: other fields are skipped).
 * Top-level kinds carry no TypeMeta: apiVersion and kind travel in the runtime.Unknown envelope.
 */

/** Message name → its fields (see the file comment for the notation). */
export const MESSAGES: Readonly<Record<string, string>> = {
  Namespace: 'metadata:1:ObjectMeta? spec:2:NamespaceSpec? status:3:NamespaceStatus?',
  ObjectMeta:
    'name:1:s? generateName:2:s? namespace:3:s? selfLink:4:s? uid:5:s? resourceVersion:6:s? generation:7:i64? creationTimestamp:8:T? deletionTimestamp:9:T*? deletionGracePeriodSeconds:10:i64*? labels:11:{s}? annotations:12:{s}? ownerReferences:13:OwnerReference[]? finalizers:14:s[]? managedFields:17:ManagedFieldsEntry[]?',
  OwnerReference: 'apiVersion:5:s kind:1:s name:3:s uid:4:s controller:6:b*? blockOwnerDeletion:7:b*?',
  ManagedFieldsEntry:
    'manager:1:s? operation:2:s? apiVersion:3:s? time:4:T*? fieldsType:6:s? fieldsV1:7:FV*? subresource:8:s?',
  NamespaceSpec: 'finalizers:1:s[]?',
  NamespaceStatus: 'phase:1:s? conditions:2:NamespaceCondition[]?',
  NamespaceCondition: 'type:1:s status:2:s lastTransitionTime:4:T? reason:5:s? message:6:s?',
  Node: 'metadata:1:ObjectMeta? spec:2:NodeSpec? status:3:NodeStatus?',
  NodeSpec:
    'podCIDR:1:s? podCIDRs:7:s[]? providerID:3:s? unschedulable:4:b? taints:5:Taint[]? configSource:6:NodeConfigSource$all*? externalID:2:s?',
  Taint: 'key:1:s value:2:s? effect:3:s timeAdded:4:T*?',
  NodeConfigSource$all: 'configMap:2:ConfigMapNodeConfigSource$all*?',
  ConfigMapNodeConfigSource$all: 'namespace:1:s name:2:s uid:3:s? resourceVersion:4:s? kubeletConfigKey:5:s',
  NodeStatus:
    'capacity:1:{Q}? allocatable:2:{Q}? phase:3:s? conditions:4:NodeCondition[]? addresses:5:NodeAddress[]? daemonEndpoints:6:NodeDaemonEndpoints? nodeInfo:7:NodeSystemInfo? images:8:ContainerImage$all[]? volumesInUse:9:s[]? volumesAttached:10:AttachedVolume$all[]? config:11:NodeConfigStatus$all*? runtimeHandlers:12:NodeRuntimeHandler$all[]? features:13:NodeFeatures$all*?',
  NodeCondition:
    'type:1:s status:2:s lastHeartbeatTime:3:T? lastTransitionTime:4:T? reason:5:s? message:6:s?',
  NodeAddress: 'type:1:s address:2:s',
  NodeDaemonEndpoints: 'kubeletEndpoint:1:DaemonEndpoint?',
  DaemonEndpoint: 'Port:1:i32',
  NodeSystemInfo:
    'machineID:1:s systemUUID:2:s bootID:3:s kernelVersion:4:s osImage:5:s containerRuntimeVersion:6:s kubeletVersion:7:s kubeProxyVersion:8:s operatingSystem:9:s architecture:10:s swap:11:NodeSwapStatus$all*?',
  NodeSwapStatus$all: 'capacity:1:i64*?',
  ContainerImage$all: 'names:1:s[] sizeBytes:2:i64?',
  AttachedVolume$all: 'name:1:s devicePath:2:s',
  NodeConfigStatus$all:
    'assigned:1:NodeConfigSource$all*? active:2:NodeConfigSource$all*? lastKnownGood:3:NodeConfigSource$all*? error:4:s?',
  NodeRuntimeHandler$all: 'name:1:s features:2:NodeRuntimeHandlerFeatures$all*?',
  NodeRuntimeHandlerFeatures$all: 'recursiveReadOnlyMounts:1:b*? userNamespaces:2:b*?',
  NodeFeatures$all: 'supplementalGroupsPolicy:1:b*?',
  Pod: 'metadata:1:ObjectMeta? spec:2:PodSpec? status:3:PodStatus?',
  PodSpec:
    'volumes:1:Volume[]? initContainers:20:Container[]? containers:2:Container[] ephemeralContainers:34:EphemeralContainer$all[]? restartPolicy:3:s? terminationGracePeriodSeconds:4:i64*? activeDeadlineSeconds:5:i64*? dnsPolicy:6:s? nodeSelector:7:{s}? serviceAccountName:8:s? serviceAccount:9:s? automountServiceAccountToken:21:b*? nodeName:10:s? hostNetwork:11:b? hostPID:12:b? hostIPC:13:b? shareProcessNamespace:27:b*? securityContext:14:PodSecurityContext$all*? imagePullSecrets:15:LocalObjectReference[]? hostname:16:s? subdomain:17:s? affinity:18:Affinity$all*? schedulerName:19:s? tolerations:22:Toleration[]? hostAliases:23:HostAlias[]? priorityClassName:24:s? priority:25:i32*? dnsConfig:26:PodDNSConfig$all*? readinessGates:28:PodReadinessGate[]? runtimeClassName:29:s*? enableServiceLinks:30:b*? preemptionPolicy:31:s*? overhead:32:{Q}? topologySpreadConstraints:33:TopologySpreadConstraint$all[]? setHostnameAsFQDN:35:b*? os:36:PodOS*? hostUsers:37:b*? schedulingGates:38:PodSchedulingGate[]? resourceClaims:39:PodResourceClaim$all[]?',
  Volume: 'name:1:s volumeSource:2:VolumeSource^',
  VolumeSource:
    'hostPath:1:HostPathVolumeSource*? emptyDir:2:EmptyDirVolumeSource*? secret:6:SecretVolumeSource*? nfs:7:NFSVolumeSource$all*? persistentVolumeClaim:10:PersistentVolumeClaimVolumeSource*? downwardAPI:16:DownwardAPIVolumeSource$all*? configMap:19:ConfigMapVolumeSource*? projected:26:ProjectedVolumeSource$all*? csi:28:CSIVolumeSource$all*? ephemeral:29:EphemeralVolumeSource$all*? image:30:ImageVolumeSource$all*?',
  HostPathVolumeSource: 'path:1:s type:2:s*?',
  EmptyDirVolumeSource: 'medium:1:s? sizeLimit:2:Q*?',
  SecretVolumeSource: 'secretName:1:s? items:2:KeyToPath[]? defaultMode:3:i32*? optional:4:b*?',
  KeyToPath: 'key:1:s path:2:s mode:3:i32*?',
  NFSVolumeSource$all: 'server:1:s path:2:s readOnly:3:b?',
  PersistentVolumeClaimVolumeSource: 'claimName:1:s readOnly:2:b?',
  DownwardAPIVolumeSource$all: 'items:1:DownwardAPIVolumeFile$all[]? defaultMode:2:i32*? defaultUser:3:i64*?',
  DownwardAPIVolumeFile$all:
    'path:1:s fieldRef:2:ObjectFieldSelector*? resourceFieldRef:3:ResourceFieldSelector*? mode:4:i32*? user:5:i64*?',
  ConfigMapVolumeSource:
    'localObjectReference:1:LocalObjectReference^ items:2:KeyToPath[]? defaultMode:3:i32*? optional:4:b*?',
  LocalObjectReference: 'name:1:s?',
  ProjectedVolumeSource$all: 'sources:1:VolumeProjection$all[] defaultMode:2:i32*? defaultUser:3:i64*?',
  VolumeProjection$all:
    'secret:1:SecretProjection$all*? downwardAPI:2:DownwardAPIProjection$all*? configMap:3:ConfigMapProjection$all*? serviceAccountToken:4:ServiceAccountTokenProjection$all*? clusterTrustBundle:5:ClusterTrustBundleProjection$all*? podCertificate:6:PodCertificateProjection$all*?',
  SecretProjection$all:
    'localObjectReference:1:LocalObjectReference^ items:2:KeyToPath$all[]? optional:4:b*?',
  KeyToPath$all: 'key:1:s path:2:s mode:3:i32*? user:4:i64*?',
  DownwardAPIProjection$all: 'items:1:DownwardAPIVolumeFile$all[]?',
  ConfigMapProjection$all:
    'localObjectReference:1:LocalObjectReference^ items:2:KeyToPath$all[]? optional:4:b*?',
  ServiceAccountTokenProjection$all: 'audience:1:s? expirationSeconds:2:i64*? path:3:s user:4:i64*?',
  ClusterTrustBundleProjection$all:
    'name:1:s*? signerName:2:s*? labelSelector:3:LabelSelector*? optional:5:b*? path:4:s user:6:i64*?',
  PodCertificateProjection$all:
    'signerName:1:s? keyType:2:s? maxExpirationSeconds:3:i32*? credentialBundlePath:4:s? keyPath:5:s? certificateChainPath:6:s? userAnnotations:7:{s}? user:8:i64*?',
  CSIVolumeSource$all:
    'driver:1:s readOnly:2:b*? fsType:3:s*? volumeAttributes:4:{s}? nodePublishSecretRef:5:LocalObjectReference*?',
  EphemeralVolumeSource$all: 'volumeClaimTemplate:1:PersistentVolumeClaimTemplate$all*?',
  PersistentVolumeClaimTemplate$all: 'metadata:1:ObjectMeta? spec:2:PersistentVolumeClaimSpec$all',
  PersistentVolumeClaimSpec$all:
    'accessModes:1:s[]? selector:4:LabelSelector*? resources:2:VolumeResourceRequirements$all? volumeName:3:s? storageClassName:5:s*? volumeMode:6:s*? dataSource:7:TypedLocalObjectReference$all*? dataSourceRef:8:TypedObjectReference$all*? volumeAttributesClassName:9:s*?',
  VolumeResourceRequirements$all: 'limits:1:{Q}? requests:2:{Q}?',
  TypedLocalObjectReference$all: 'apiGroup:1:s* kind:2:s name:3:s',
  TypedObjectReference$all: 'apiGroup:1:s* kind:2:s name:3:s namespace:4:s*?',
  ImageVolumeSource$all: 'reference:1:s? pullPolicy:2:s?',
  Container:
    'name:1:s image:2:s? command:3:s[]? args:4:s[]? workingDir:5:s? ports:6:ContainerPort[]? envFrom:19:EnvFromSource$all[]? env:7:EnvVar[]? resources:8:ResourceRequirements? resizePolicy:23:ContainerResizePolicy$all[]? restartPolicy:24:s*? volumeMounts:9:VolumeMount[]? volumeDevices:21:VolumeDevice[]? livenessProbe:10:Probe$all*? readinessProbe:11:Probe$all*? startupProbe:22:Probe$all*? lifecycle:12:Lifecycle$all*? terminationMessagePath:13:s? terminationMessagePolicy:20:s? imagePullPolicy:14:s? securityContext:15:SecurityContext$all*? stdin:16:b? stdinOnce:17:b? tty:18:b?',
  ContainerPort: 'name:1:s? hostPort:2:i32? containerPort:3:i32 protocol:4:s? hostIP:5:s?',
  EnvFromSource$all: 'prefix:1:s? configMapRef:2:ConfigMapEnvSource$all*? secretRef:3:SecretEnvSource$all*?',
  ConfigMapEnvSource$all: 'localObjectReference:1:LocalObjectReference^ optional:2:b*?',
  SecretEnvSource$all: 'localObjectReference:1:LocalObjectReference^ optional:2:b*?',
  EnvVar: 'name:1:s value:2:s? valueFrom:3:EnvVarSource*?',
  EnvVarSource:
    'fieldRef:1:ObjectFieldSelector*? resourceFieldRef:2:ResourceFieldSelector*? configMapKeyRef:3:ConfigMapKeySelector*? secretKeyRef:4:SecretKeySelector*?',
  ObjectFieldSelector: 'apiVersion:1:s? fieldPath:2:s',
  ResourceFieldSelector: 'containerName:1:s? resource:2:s divisor:3:Q?',
  ConfigMapKeySelector: 'localObjectReference:1:LocalObjectReference^ key:2:s optional:3:b*?',
  SecretKeySelector: 'localObjectReference:1:LocalObjectReference^ key:2:s optional:3:b*?',
  ResourceRequirements: 'limits:1:{Q}? requests:2:{Q}? claims:3:ResourceClaim[]?',
  ResourceClaim: 'name:1:s request:2:s?',
  ContainerResizePolicy$all: 'resourceName:1:s restartPolicy:2:s',
  VolumeMount:
    'name:1:s readOnly:2:b? recursiveReadOnly:7:s*? mountPath:3:s subPath:4:s? mountPropagation:5:s*? subPathExpr:6:s?',
  VolumeDevice: 'name:1:s devicePath:2:s',
  Probe$all:
    'handler:1:ProbeHandler$all^ initialDelaySeconds:2:i32? timeoutSeconds:3:i32? periodSeconds:4:i32? successThreshold:5:i32? failureThreshold:6:i32? terminationGracePeriodSeconds:7:i64*?',
  ProbeHandler$all:
    'exec:1:ExecAction$all*? httpGet:2:HTTPGetAction$all*? tcpSocket:3:TCPSocketAction$all*? grpc:4:GRPCAction$all*?',
  ExecAction$all: 'command:1:s[]?',
  HTTPGetAction$all:
    'path:1:s? port:2:IOS host:3:s? scheme:4:s? httpHeaders:5:HTTPHeader$all[]? protocol:6:s*?',
  HTTPHeader$all: 'name:1:s value:2:s',
  TCPSocketAction$all: 'port:1:IOS host:2:s?',
  GRPCAction$all: 'port:1:i32 service:2:s* mode:3:s*?',
  Lifecycle$all: 'postStart:1:LifecycleHandler$all*? preStop:2:LifecycleHandler$all*? stopSignal:3:s*?',
  LifecycleHandler$all:
    'exec:1:ExecAction$all*? httpGet:2:HTTPGetAction$all*? tcpSocket:3:TCPSocketAction$all*? sleep:4:SleepAction$all*?',
  SleepAction$all: 'seconds:1:i64',
  SecurityContext$all:
    'capabilities:1:Capabilities$all*? privileged:2:b*? seLinuxOptions:3:SELinuxOptions$all*? windowsOptions:10:WindowsSecurityContextOptions$all*? runAsUser:4:i64*? runAsGroup:8:i64*? runAsNonRoot:5:b*? readOnlyRootFilesystem:6:b*? allowPrivilegeEscalation:7:b*? procMount:9:s*? seccompProfile:11:SeccompProfile$all*? appArmorProfile:12:AppArmorProfile$all*?',
  Capabilities$all: 'add:1:s[]? drop:2:s[]?',
  SELinuxOptions$all: 'user:1:s? role:2:s? type:3:s? level:4:s?',
  WindowsSecurityContextOptions$all:
    'gmsaCredentialSpecName:1:s*? gmsaCredentialSpec:2:s*? runAsUserName:3:s*? hostProcess:4:b*?',
  SeccompProfile$all: 'type:1:s localhostProfile:2:s*?',
  AppArmorProfile$all: 'type:1:s localhostProfile:2:s*?',
  EphemeralContainer$all: 'ephemeralContainerCommon:1:EphemeralContainerCommon$all^ targetContainerName:2:s?',
  EphemeralContainerCommon$all:
    'name:1:s image:2:s? command:3:s[]? args:4:s[]? workingDir:5:s? ports:6:ContainerPort[]? envFrom:19:EnvFromSource$all[]? env:7:EnvVar[]? resources:8:ResourceRequirements? resizePolicy:23:ContainerResizePolicy$all[]? restartPolicy:24:s*? restartPolicyRules:25:ContainerRestartRule$all[]? volumeMounts:9:VolumeMount$all[]? volumeDevices:21:VolumeDevice[]? livenessProbe:10:Probe$all*? readinessProbe:11:Probe$all*? startupProbe:22:Probe$all*? lifecycle:12:Lifecycle$all*? terminationMessagePath:13:s? terminationMessagePolicy:20:s? imagePullPolicy:14:s? securityContext:15:SecurityContext$all*? stdin:16:b? stdinOnce:17:b? tty:18:b?',
  EnvVarSource$all:
    'fieldRef:1:ObjectFieldSelector*? resourceFieldRef:2:ResourceFieldSelector*? configMapKeyRef:3:ConfigMapKeySelector*? secretKeyRef:4:SecretKeySelector*? fileKeyRef:5:FileKeySelector$all*?',
  FileKeySelector$all: 'volumeName:1:s path:2:s key:3:s optional:4:b*?',
  ContainerRestartRule$all: 'action:1:s? exitCodes:2:ContainerRestartRuleOnExitCodes$all*?',
  ContainerRestartRuleOnExitCodes$all: 'operator:1:s? values:2:i32[]?',
  VolumeMount$all:
    'name:1:s readOnly:2:b? recursiveReadOnly:7:s*? mountPath:3:s subPath:4:s? mountPropagation:5:s*? subPathExpr:6:s? bindMountOptions:8:s[]?',
  PodSecurityContext$all:
    'seLinuxOptions:1:SELinuxOptions$all*? windowsOptions:8:WindowsSecurityContextOptions$all*? runAsUser:2:i64*? runAsGroup:6:i64*? runAsNonRoot:3:b*? supplementalGroups:4:i64[]? supplementalGroupsPolicy:12:s*? fsGroup:5:i64*? sysctls:7:Sysctl$all[]? fsGroupChangePolicy:9:s*? seccompProfile:10:SeccompProfile$all*? appArmorProfile:11:AppArmorProfile$all*? seLinuxChangePolicy:13:s*?',
  Sysctl$all: 'name:1:s value:2:s',
  Affinity$all:
    'nodeAffinity:1:NodeAffinity$all*? podAffinity:2:PodAffinity$all*? podAntiAffinity:3:PodAntiAffinity$all*?',
  NodeAffinity$all:
    'requiredDuringSchedulingIgnoredDuringExecution:1:NodeSelector$all*? preferredDuringSchedulingIgnoredDuringExecution:2:PreferredSchedulingTerm$all[]?',
  NodeSelector$all: 'nodeSelectorTerms:1:NodeSelectorTerm$all[]',
  NodeSelectorTerm$all:
    'matchExpressions:1:NodeSelectorRequirement$all[]? matchFields:2:NodeSelectorRequirement$all[]?',
  NodeSelectorRequirement$all: 'key:1:s operator:2:s values:3:s[]?',
  PreferredSchedulingTerm$all: 'weight:1:i32 preference:2:NodeSelectorTerm$all',
  PodAffinity$all:
    'requiredDuringSchedulingIgnoredDuringExecution:1:PodAffinityTerm$all[]? preferredDuringSchedulingIgnoredDuringExecution:2:WeightedPodAffinityTerm$all[]?',
  PodAffinityTerm$all:
    'labelSelector:1:LabelSelector*? namespaces:2:s[]? topologyKey:3:s namespaceSelector:4:LabelSelector*? matchLabelKeys:5:s[]? mismatchLabelKeys:6:s[]?',
  WeightedPodAffinityTerm$all: 'weight:1:i32 podAffinityTerm:2:PodAffinityTerm$all',
  PodAntiAffinity$all:
    'requiredDuringSchedulingIgnoredDuringExecution:1:PodAffinityTerm$all[]? preferredDuringSchedulingIgnoredDuringExecution:2:WeightedPodAffinityTerm$all[]?',
  Toleration: 'key:1:s? operator:2:s? value:3:s? effect:4:s? tolerationSeconds:5:i64*?',
  HostAlias: 'ip:1:s hostnames:2:s[]?',
  PodDNSConfig$all: 'nameservers:1:s[]? searches:2:s[]? options:3:PodDNSConfigOption$all[]?',
  PodDNSConfigOption$all: 'name:1:s? value:2:s*?',
  PodReadinessGate: 'conditionType:1:s',
  TopologySpreadConstraint$all:
    'maxSkew:1:i32 topologyKey:2:s whenUnsatisfiable:3:s labelSelector:4:LabelSelector*? minDomains:5:i32*? nodeAffinityPolicy:6:s*? nodeTaintsPolicy:7:s*? matchLabelKeys:8:s[]?',
  PodOS: 'name:1:s',
  PodSchedulingGate: 'name:1:s',
  PodResourceClaim$all: 'name:1:s resourceClaimName:3:s*? resourceClaimTemplateName:4:s*?',
  PodStatus:
    'observedGeneration:17:i64? phase:1:s? conditions:2:PodCondition[]? message:3:s? reason:4:s? nominatedNodeName:11:s? hostIP:5:s? hostIPs:16:HostIP[]? podIP:6:s? podIPs:12:PodIP[]? startTime:7:T*? initContainerStatuses:10:ContainerStatus[]? containerStatuses:8:ContainerStatus[]? qosClass:9:s? ephemeralContainerStatuses:13:ContainerStatus[]? resize:14:s? resourceClaimStatuses:15:PodResourceClaimStatus$all[]?',
  PodCondition:
    'type:1:s observedGeneration:7:i64? status:2:s lastProbeTime:3:T? lastTransitionTime:4:T? reason:5:s? message:6:s?',
  HostIP: 'ip:1:s',
  PodIP: 'ip:1:s',
  ContainerStatus:
    'name:1:s state:2:ContainerState? lastState:3:ContainerState? ready:4:b restartCount:5:i32 image:6:s imageID:7:s containerID:8:s? started:9:b*? allocatedResources:10:{Q}? resources:11:ResourceRequirements*? volumeMounts:12:VolumeMountStatus$all[]? user:13:ContainerUser$all*? allocatedResourcesStatus:14:ResourceStatus$all[]? stopSignal:15:s*?',
  ContainerState:
    'waiting:1:ContainerStateWaiting*? running:2:ContainerStateRunning*? terminated:3:ContainerStateTerminated*?',
  ContainerStateWaiting: 'reason:1:s? message:2:s?',
  ContainerStateRunning: 'startedAt:1:T?',
  ContainerStateTerminated:
    'exitCode:1:i32 signal:2:i32? reason:3:s? message:4:s? startedAt:5:T? finishedAt:6:T? containerID:7:s?',
  VolumeMountStatus$all:
    'name:1:s mountPath:2:s readOnly:3:b? recursiveReadOnly:4:s*? volumeStatus:5:VolumeStatus$all*?',
  VolumeStatus$all: 'image:1:ImageVolumeStatus$all*?',
  ImageVolumeStatus$all: 'imageRef:1:s?',
  ContainerUser$all: 'linux:1:LinuxContainerUser$all*?',
  LinuxContainerUser$all: 'uid:1:i64 gid:2:i64 supplementalGroups:3:i64[]?',
  ResourceStatus$all: 'name:1:s resources:2:ResourceHealth$all[]?',
  ResourceHealth$all: 'resourceID:1:s health:2:s? message:6:s*?',
  PodResourceClaimStatus$all: 'name:1:s resourceClaimName:2:s*?',
  Service: 'metadata:1:ObjectMeta? spec:2:ServiceSpec? status:3:ServiceStatus?',
  ServiceSpec:
    'ports:1:ServicePort[]? selector:2:{s}? clusterIP:3:s? clusterIPs:18:s[]? type:4:s? externalIPs:5:s[]? sessionAffinity:7:s? loadBalancerIP:8:s? loadBalancerSourceRanges:9:s[]? externalName:10:s? externalTrafficPolicy:11:s? healthCheckNodePort:12:i32? publishNotReadyAddresses:13:b? sessionAffinityConfig:14:SessionAffinityConfig$all*? ipFamilies:19:s[]? ipFamilyPolicy:17:s*? allocateLoadBalancerNodePorts:20:b*? loadBalancerClass:21:s*? internalTrafficPolicy:22:s*? trafficDistribution:23:s*?',
  ServicePort: 'name:1:s? protocol:2:s? appProtocol:6:s*? port:3:i32 targetPort:4:IOS? nodePort:5:i32?',
  SessionAffinityConfig$all: 'clientIP:1:ClientIPConfig$all*?',
  ClientIPConfig$all: 'timeoutSeconds:1:i32*?',
  ServiceStatus: 'loadBalancer:1:LoadBalancerStatus$all? conditions:2:Condition[]?',
  LoadBalancerStatus$all: 'ingress:1:LoadBalancerIngress$all[]?',
  LoadBalancerIngress$all: 'ip:1:s? hostname:2:s? ipMode:3:s*? ports:4:PortStatus$all[]?',
  PortStatus$all: 'port:1:i32 protocol:2:s error:3:s*?',
  Condition: 'type:1:s status:2:s observedGeneration:3:i64? lastTransitionTime:4:T reason:5:s message:6:s',
  Endpoints: 'metadata:1:ObjectMeta? subsets:2:EndpointSubset[]?',
  EndpointSubset:
    'addresses:1:EndpointAddress[]? notReadyAddresses:2:EndpointAddress[]? ports:3:EndpointPort[]?',
  EndpointAddress: 'ip:1:s hostname:3:s? nodeName:4:s*? targetRef:2:ObjectReference*?',
  ObjectReference:
    'kind:1:s? namespace:2:s? name:3:s? uid:4:s? apiVersion:5:s? resourceVersion:6:s? fieldPath:7:s?',
  EndpointPort: 'name:1:s? port:2:i32 protocol:3:s? appProtocol:4:s*?',
  Event:
    'metadata:1:ObjectMeta involvedObject:2:ObjectReference reason:3:s? message:4:s? source:5:EventSource? firstTimestamp:6:T? lastTimestamp:7:T? count:8:i32? type:9:s? eventTime:10:MT? series:11:EventSeries*? action:12:s? related:13:ObjectReference*? reportingComponent:14:s reportingInstance:15:s',
  EventSource: 'component:1:s? host:2:s?',
  EventSeries: 'count:1:i32? lastObservedTime:2:MT?',
  ConfigMap: 'metadata:1:ObjectMeta? immutable:4:b*? data:2:{s}? binaryData:3:{by}?',
  Secret: 'metadata:1:ObjectMeta? immutable:5:b*? data:2:{by}? stringData:4:{s}? type:3:s?',
  ServiceAccount:
    'metadata:1:ObjectMeta? secrets:2:ObjectReference[]? imagePullSecrets:3:LocalObjectReference[]? automountServiceAccountToken:4:b*?',
  Deployment: 'metadata:1:ObjectMeta? spec:2:DeploymentSpec? status:3:DeploymentStatus?',
  DeploymentSpec:
    'replicas:1:i32*? selector:2:LabelSelector* template:3:PodTemplateSpec strategy:4:DeploymentStrategy? minReadySeconds:5:i32? revisionHistoryLimit:6:i32*? paused:7:b? progressDeadlineSeconds:9:i32*?',
  LabelSelector: 'matchLabels:1:{s}? matchExpressions:2:LabelSelectorRequirement[]?',
  LabelSelectorRequirement: 'key:1:s operator:2:s values:3:s[]?',
  PodTemplateSpec: 'metadata:1:ObjectMeta? spec:2:PodSpec?',
  DeploymentStrategy: 'type:1:s? rollingUpdate:2:RollingUpdateDeployment*?',
  RollingUpdateDeployment: 'maxUnavailable:1:IOS*? maxSurge:2:IOS*?',
  DeploymentStatus:
    'observedGeneration:1:i64? replicas:2:i32? updatedReplicas:3:i32? readyReplicas:7:i32? availableReplicas:4:i32? unavailableReplicas:5:i32? terminatingReplicas:9:i32*? conditions:6:DeploymentCondition[]? collisionCount:8:i32*?',
  DeploymentCondition:
    'type:1:s status:2:s lastUpdateTime:6:T? lastTransitionTime:7:T? reason:4:s? message:5:s?',
  ReplicaSet: 'metadata:1:ObjectMeta? spec:2:ReplicaSetSpec? status:3:ReplicaSetStatus?',
  ReplicaSetSpec:
    'replicas:1:i32*? minReadySeconds:4:i32? selector:2:LabelSelector* template:3:PodTemplateSpec?',
  ReplicaSetStatus:
    'replicas:1:i32 fullyLabeledReplicas:2:i32? readyReplicas:4:i32? availableReplicas:5:i32? terminatingReplicas:7:i32*? observedGeneration:3:i64? conditions:6:ReplicaSetCondition[]?',
  ReplicaSetCondition: 'type:1:s status:2:s lastTransitionTime:3:T? reason:4:s? message:5:s?',
  Lease: 'metadata:1:ObjectMeta? spec:2:LeaseSpec?',
  LeaseSpec:
    'holderIdentity:1:s*? leaseDurationSeconds:2:i32*? acquireTime:3:MT*? renewTime:4:MT*? leaseTransitions:5:i32*? strategy:6:s*? preferredHolder:7:s*?',
  Binding: 'metadata:1:ObjectMeta? target:2:ObjectReference',
  Scale: 'metadata:1:ObjectMeta? spec:2:ScaleSpec? status:3:ScaleStatus?',
  ScaleSpec: 'replicas:1:i32?',
  ScaleStatus: 'replicas:1:i32 selector:2:s?',
}
