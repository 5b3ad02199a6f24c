/*
 * parc-strip-retain: a Mosquitto 2.x plugin for a school broker bridged to the central one.
 *
 * It clears the retain flag of every PUBLISH a client sends, before the broker stores it, so
 * the school broker keeps no retained message at all. Why (deploy/site-broker/README.md,
 * "Retained messages"): a Mosquitto bridge queues every retained message matching its `topic`
 * lines again at each connection attempt, and the central broker hands these copies to its
 * subscribers as new messages (MQTT 3.1.1 3.3.1.3: only a new subscription sees the retain
 * flag). Measured on 2.0.11: a retained reading stored 17 times and a controller shown online
 * after its Last Will, over four link cuts. Without a retained store there is nothing to
 * replay; every message still flows live, in order, at its QoS.
 *
 * `retain_available false` is no substitute: Mosquitto 2.0 disconnects an MQTT 3.1.1 client
 * that publishes with the retain flag, which PubSubClient devices do.
 *
 * Only client PUBLISHes pass through MOSQ_EVT_MESSAGE: a Last Will, the bridge's own state
 * notification and $SYS keep their flag (devices' Wills are empty, which deletes rather than
 * stores a retained message).
 *
 * Build: deploy/site-broker/plugin/build.sh (needs gcc and the Mosquitto 2 headers:
 * apt-get install gcc mosquitto-dev libmosquitto-dev). Plugin API version 5 (Mosquitto >= 2.0).
 */
#include <stdbool.h>
#include <stddef.h>

#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>

#define PLUGIN_API_VERSION 5

static mosquitto_plugin_id_t *plugin_id = NULL;

static int on_message(int event, void *event_data, void *userdata)
{
	struct mosquitto_evt_message *message = event_data;

	(void)event;
	(void)userdata;
	message->retain = false;
	return MOSQ_ERR_SUCCESS;
}

int mosquitto_plugin_version(int supported_version_count, const int *supported_versions)
{
	for(int i = 0; i < supported_version_count; i++){
		if(supported_versions[i] == PLUGIN_API_VERSION) return PLUGIN_API_VERSION;
	}
	return -1;
}

int mosquitto_plugin_init(mosquitto_plugin_id_t *identifier, void **userdata, struct mosquitto_opt *options, int option_count)
{
	(void)userdata;
	(void)options;
	(void)option_count;
	plugin_id = identifier;
	return mosquitto_callback_register(plugin_id, MOSQ_EVT_MESSAGE, on_message, NULL, NULL);
}

int mosquitto_plugin_cleanup(void *userdata, struct mosquitto_opt *options, int option_count)
{
	(void)userdata;
	(void)options;
	(void)option_count;
	return mosquitto_callback_unregister(plugin_id, MOSQ_EVT_MESSAGE, on_message, NULL);
}
