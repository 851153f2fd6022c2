// `azd up` for durable-local: the app at the repository root on Flex Consumption (FC1), a user-assigned identity,
// a storage account with shared keys turned off, Application Insights with Entra authentication, and, with
// durableBackend = 'DurableTaskScheduler', a Durable Task Scheduler and task hub instead of Azure Storage.
// Modelled on https://github.com/Azure-Samples/durable-functions-quickstart-python-azd (infra/main.bicep).
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('Name of the environment, used to make a short unique hash for every resource name.')
param environmentName string

@minLength(1)
@description('Region of every resource (one where Flex Consumption is available).')
@allowed([
  'australiaeast'
  'australiasoutheast'
  'brazilsouth'
  'canadacentral'
  'centralindia'
  'centralus'
  'eastasia'
  'eastus'
  'eastus2'
  'eastus2euap'
  'francecentral'
  'germanywestcentral'
  'italynorth'
  'japaneast'
  'koreacentral'
  'northcentralus'
  'northeurope'
  'norwayeast'
  'southafricanorth'
  'southcentralus'
  'southeastasia'
  'southindia'
  'spaincentral'
  'swedencentral'
  'uaenorth'
  'uksouth'
  'ukwest'
  'westcentralus'
  'westeurope'
  'westus'
  'westus2'
  'westus3'
])
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Object id of the deploying user: gets the same storage roles (and the scheduler dashboard). Empty: none.')
param principalId string = deployer().objectId

@description('Durable Functions backend: Azure Storage (the account below) or the Durable Task Scheduler.')
@allowed(['AzureStorage', 'DurableTaskScheduler'])
param durableBackend string = 'AzureStorage'

@allowed(['3.11', '3.12'])
param pythonVersion string = '3.12'

@description('Always-ready instances for the `durable` trigger group (Flex Consumption advice for Durable apps); a string so azd can pass it from DURABLE_ALWAYS_READY_INSTANCES.')
param durableAlwaysReadyInstances string = '1'

@description('Task hub name (host.json hubName is overridden with it so both backends use the same name).')
param taskHubName string = 'DurableFunctionsHub'

// Settings the app reads (docs/app.md); each becomes an app setting below.
param purgeSchedule string = '0 0 0 * * *'
param purgeRuntimeStatuses string = 'Completed'
@description('RETENTION_DAYS, whole days; a string so azd can pass it from the environment.')
param retentionDays string = '30'
param purgeWindowHours int = 24
@description('PURGE_MAX_WINDOW_HOURS: the widest a retention purge window grows to while windows purge fast.')
param purgeMaxWindowHours int = 8760
@description('PURGE_PROGRESS_SECONDS: how long one RetentionPurge activity purges windows before the run records its progress and continues as new.')
param purgeProgressSeconds int = 5
@description('BULK_CONCURRENCY: instances a bulk run acts on at once (1-200).')
param bulkConcurrency int = 16
@description('BULK_PAGE_SIZE: instances a bulk run lists per page, one continue-as-new each (1-1000).')
param bulkPageSize int = 500
param payloadTableName string = 'ManagementPayloads'
param configTableName string = 'OperatorSettings'
@description('Blob container for archives written before the retention purge; empty turns the archive off.')
param archiveContainer string = ''
@description('With the Durable Task Scheduler and an archive: days the scheduler keeps instances beyond RETENTION_DAYS, so the app archives them before the scheduler purges them.')
param archiveGraceDays int = 7

param resourceGroupName string = ''

var abbrs = loadJsonContent('./abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = { 'azd-env-name': environmentName }
var functionAppName = '${abbrs.webSitesFunctions}api-${resourceToken}'
var deploymentStorageContainerName = 'app-package-${take(functionAppName, 32)}-${take(toLower(uniqueString(functionAppName, resourceToken)), 7)}'
var useScheduler = durableBackend == 'DurableTaskScheduler'
// DTS autopurge counts from an instance's end (the app's purge counts from its creation), at most 90 days.
var schedulerRetentionDays = min(90, empty(archiveContainer) ? int(retentionDays) : int(retentionDays) + archiveGraceDays)

resource rg 'Microsoft.Resources/resourceGroups@2021-04-01' = {
  name: !empty(resourceGroupName) ? resourceGroupName : '${abbrs.resourcesResourceGroups}${environmentName}'
  location: location
  tags: tags
}

module apiUserAssignedIdentity 'br/public:avm/res/managed-identity/user-assigned-identity:0.4.1' = {
  name: 'apiUserAssignedIdentity'
  scope: rg
  params: {
    location: location
    tags: tags
    name: '${abbrs.managedIdentityUserAssignedIdentities}api-${resourceToken}'
  }
}

module appServicePlan 'br/public:avm/res/web/serverfarm:0.1.1' = {
  name: 'appserviceplan'
  scope: rg
  params: {
    name: '${abbrs.webServerFarms}${resourceToken}'
    sku: {
      name: 'FC1'
      tier: 'FlexConsumption'
    }
    reserved: true
    location: location
    tags: tags
  }
}

module storage 'br/public:avm/res/storage/storage-account:0.8.3' = {
  name: 'storage'
  scope: rg
  params: {
    name: '${abbrs.storageStorageAccounts}${resourceToken}'
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false // no keys: the app and the host use the managed identity
    dnsEndpointType: 'Standard'
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
    blobServices: {
      containers: concat([{ name: deploymentStorageContainerName }], empty(archiveContainer) ? [] : [{ name: archiveContainer }])
    }
    minimumTlsVersion: 'TLS1_2'
    location: location
    tags: tags
  }
}

module logAnalytics 'br/public:avm/res/operational-insights/workspace:0.11.1' = {
  name: '${uniqueString(deployment().name, location)}-loganalytics'
  scope: rg
  params: {
    name: '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
    location: location
    tags: tags
    dataRetention: 30
  }
}

module monitoring 'br/public:avm/res/insights/component:0.6.0' = {
  name: '${uniqueString(deployment().name, location)}-appinsights'
  scope: rg
  params: {
    name: '${abbrs.insightsComponents}${resourceToken}'
    location: location
    tags: tags
    workspaceResourceId: logAnalytics.outputs.resourceId
    disableLocalAuth: true // Entra authentication only (APPLICATIONINSIGHTS_AUTHENTICATION_STRING)
  }
}

module scheduler 'app/dts.bicep' = if (useScheduler) {
  name: 'durableTaskScheduler'
  scope: rg
  params: {
    name: '${abbrs.durableTaskSchedulers}${resourceToken}'
    location: location
    tags: tags
    taskHubName: taskHubName
    retentionDays: schedulerRetentionDays
  }
}

// The app's own settings (every setting the app reads; tests/unit/test_deploy_template.py holds this list to the
// app), then the Durable backend, chosen through host.json overrides so that one host.json serves both.
var appSettings = {
  PURGE_SCHEDULE: purgeSchedule
  PURGE_RUNTIME_STATUSES: purgeRuntimeStatuses
  RETENTION_DAYS: retentionDays
  PURGE_WINDOW_HOURS: string(purgeWindowHours)
  PURGE_MAX_WINDOW_HOURS: string(purgeMaxWindowHours)
  PURGE_PROGRESS_SECONDS: string(purgeProgressSeconds)
  BULK_CONCURRENCY: string(bulkConcurrency)
  BULK_PAGE_SIZE: string(bulkPageSize)
  PAYLOAD_TABLE_NAME: payloadTableName
  CONFIG_TABLE_NAME: configTableName
  ARCHIVE_CONTAINER: archiveContainer
  AzureFunctionsJobHost__extensions__durableTask__hubName: taskHubName
}

var azureStorageBackendSettings = {
  // Flex Consumption advice for Durable on Azure Storage: poll the queues at least every 10 seconds.
  AzureFunctionsJobHost__extensions__durableTask__storageProvider__maxQueuePollingInterval: '00:00:10'
}

var schedulerBackendSettings = useScheduler ? {
  DURABLE_TASK_SCHEDULER_CONNECTION_STRING: 'Endpoint=${scheduler.outputs.endpoint};Authentication=ManagedIdentity;ClientID=${apiUserAssignedIdentity.outputs.clientId}'
  AzureFunctionsJobHost__extensions__durableTask__storageProvider__type: 'azureManaged'
  AzureFunctionsJobHost__extensions__durableTask__storageProvider__connectionStringName: 'DURABLE_TASK_SCHEDULER_CONNECTION_STRING'
} : {}

module api './app/api.bicep' = {
  name: 'api'
  scope: rg
  params: {
    name: functionAppName
    location: location
    tags: tags
    applicationInsightsName: monitoring.outputs.name
    appServicePlanId: appServicePlan.outputs.resourceId
    runtimeVersion: pythonVersion
    storageAccountName: storage.outputs.name
    deploymentStorageContainerName: deploymentStorageContainerName
    identityId: apiUserAssignedIdentity.outputs.resourceId
    identityClientId: apiUserAssignedIdentity.outputs.clientId
    durableAlwaysReadyInstances: int(durableAlwaysReadyInstances)
    appSettings: union(appSettings, useScheduler ? schedulerBackendSettings : azureStorageBackendSettings)
  }
}

module rbac 'app/rbac.bicep' = {
  name: 'rbacAssignments'
  scope: rg
  params: {
    storageAccountName: storage.outputs.name
    appInsightsName: monitoring.outputs.name
    managedIdentityPrincipalId: apiUserAssignedIdentity.outputs.principalId
    userIdentityPrincipalId: principalId
    schedulerName: useScheduler ? scheduler.outputs.name : ''
  }
}

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output SERVICE_API_NAME string = api.outputs.SERVICE_API_NAME
output AZURE_FUNCTION_NAME string = api.outputs.SERVICE_API_NAME
output DURABLE_BASE_URL string = 'https://${api.outputs.SERVICE_API_HOSTNAME}'
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output DURABLE_BACKEND string = durableBackend
output DURABLE_TASK_SCHEDULER_DASHBOARD string = useScheduler ? scheduler.outputs.dashboardUrl : ''
